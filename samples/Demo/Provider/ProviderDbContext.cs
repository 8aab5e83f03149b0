using Microsoft.EntityFrameworkCore;

namespace Portcullis.Demo.Provider;

// Holds only OpenIddict's entities (applications, authorizations, scopes, tokens); UseOpenIddict()
// adds them to the model.
internal sealed class ProviderDbContext(DbContextOptions<ProviderDbContext> options) : DbContext(options);
