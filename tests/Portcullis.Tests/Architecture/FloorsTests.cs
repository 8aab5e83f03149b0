using Mono.Cecil;
using Mono.Cecil.Cil;
using Portcullis.Configuration;

namespace Portcullis.Tests.Architecture;

/// <summary>
/// The library's namespaces are floors (docs/architecture.md): a type may use types on its own floor and the floors
/// below, never above. Read from the compiled assembly with Mono.Cecil, method bodies included, so a reference hidden
/// in a lambda, an async state machine or a partial namespace name (<c>Agent.Presets.X</c>) counts as well.
/// </summary>
public sealed class FloorsTests
{
    /// <summary>Bottom to top. A namespace not listed here fails the test, so a new folder must be given a floor.</summary>
    public static readonly string[][] Floors =
    [
        ["Portcullis.Primitives", "Portcullis.Diagnostics"],
        ["Portcullis.Configuration"],
        ["Portcullis.Storage"],
        ["Portcullis.Vault"],
        ["Portcullis.Audit"],
        ["Portcullis.Agent"],
        ["Portcullis.Tokens"],
        ["Portcullis.Sessions"],
        ["Portcullis.Http"],
        ["Portcullis.Authorization"],
        ["Portcullis.Proxy", "Portcullis.Endpoints"],
        ["Portcullis"],
    ];

    [Fact]
    public void NoTypeInTheLibraryReferencesAHigherFloor()
    {
        var violations = UpwardReferences(typeof(PortcullisOptions).Assembly.Location);

        Assert.True(violations.Count == 0, "Upward references (floor of user < floor of used):\n" + string.Join("\n", violations));
    }

    [Fact]
    public void EveryNamespaceOfTheLibraryHasAFloor()
    {
        using var module = ModuleDefinition.ReadModule(typeof(PortcullisOptions).Assembly.Location);
        var unplaced = module.GetTypes()
            .Select(OutermostNamespace)
            .Where(ns => ns.StartsWith("Portcullis", StringComparison.Ordinal) && FloorOf(ns) is null)
            .Distinct()
            .ToList();

        Assert.True(unplaced.Count == 0, "Namespaces without a floor: " + string.Join(", ", unplaced));
    }

    /// <summary>Every reference from a type to a type of the same assembly on a higher floor, as "user -> used".</summary>
    public static List<string> UpwardReferences(string assemblyPath)
    {
        using var module = ModuleDefinition.ReadModule(assemblyPath);
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in module.GetTypes())
        {
            if (FloorOf(OutermostNamespace(type)) is not { } floor)
            {
                continue;
            }

            foreach (var used in ReferencedTypes(type))
            {
                if (used.Scope != module && used.Module != module)
                {
                    continue;
                }

                if (FloorOf(OutermostNamespace(used)) is { } usedFloor && usedFloor > floor)
                {
                    violations.Add($"{Outermost(type).FullName} -> {Outermost(used).FullName}");
                }
            }
        }

        return [.. violations];
    }

    private static int? FloorOf(string ns)
    {
        for (var floor = Floors.Length - 1; floor >= 0; floor--)
        {
            foreach (var name in Floors[floor])
            {
                if (ns == name || (name != "Portcullis" && ns.StartsWith(name + ".", StringComparison.Ordinal)))
                {
                    return floor;
                }
            }
        }

        return null;
    }

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private static string OutermostNamespace(TypeReference type) => Outermost(type).Namespace;

    private static IEnumerable<TypeReference> ReferencedTypes(TypeDefinition type)
    {
        var found = new List<TypeReference>();
        void Add(TypeReference? reference)
        {
            switch (reference)
            {
                case null:
                    return;
                case GenericInstanceType generic:
                    Add(generic.ElementType);
                    foreach (var argument in generic.GenericArguments)
                    {
                        Add(argument);
                    }

                    return;
                case TypeSpecification specification: // arrays, by-ref, pointers, modifiers
                    Add(specification.ElementType);
                    return;
                case GenericParameter:
                    return;
                default:
                    found.Add(reference);
                    return;
            }
        }

        void AddAttributes(ICustomAttributeProvider provider)
        {
            foreach (var attribute in provider.CustomAttributes)
            {
                Add(attribute.AttributeType);
                foreach (var argument in attribute.ConstructorArguments.Concat(attribute.Properties.Select(p => p.Argument)))
                {
                    Add(argument.Value as TypeReference);
                }
            }
        }

        void AddMember(MemberReference member)
        {
            Add(member.DeclaringType);
            switch (member)
            {
                case MethodReference method:
                    Add(method.ReturnType);
                    foreach (var parameter in method.Parameters)
                    {
                        Add(parameter.ParameterType);
                    }

                    if (method is GenericInstanceMethod genericMethod)
                    {
                        foreach (var argument in genericMethod.GenericArguments)
                        {
                            Add(argument);
                        }
                    }

                    break;
                case FieldReference field:
                    Add(field.FieldType);
                    break;
            }
        }

        Add(type.BaseType);
        AddAttributes(type);
        foreach (var implemented in type.Interfaces)
        {
            Add(implemented.InterfaceType);
        }

        foreach (var parameter in type.GenericParameters)
        {
            foreach (var constraint in parameter.Constraints)
            {
                Add(constraint.ConstraintType);
            }
        }

        foreach (var field in type.Fields)
        {
            Add(field.FieldType);
            AddAttributes(field);
        }

        foreach (var property in type.Properties)
        {
            Add(property.PropertyType);
            AddAttributes(property);
        }

        foreach (var method in type.Methods)
        {
            AddMember(method);
            AddAttributes(method);
            foreach (var parameter in method.Parameters)
            {
                AddAttributes(parameter);
            }

            if (!method.HasBody)
            {
                continue;
            }

            foreach (var variable in method.Body.Variables)
            {
                Add(variable.VariableType);
            }

            foreach (var instruction in method.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference reference:
                        Add(reference);
                        break;
                    case MemberReference member:
                        AddMember(member);
                        break;
                }
            }
        }

        return found;
    }
}
