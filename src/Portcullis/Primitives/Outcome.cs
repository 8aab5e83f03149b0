namespace Portcullis.Primitives;

/// <summary>Either a value or an expected failure.</summary>
internal readonly record struct Outcome<T>(T? Value, PortcullisError? Error)
    where T : class
{
    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(PortcullisError error) => new(null, error);
}
