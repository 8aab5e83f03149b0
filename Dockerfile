# The gateway as a container (issue 21 item 4, docs/deploy.md). Build from the repository root:
#   docker build -t portcullis .
# Stage 1 publishes the gateway with the SDK; stage 2 runs it on the ASP.NET Core runtime only, as a non-root user, with
# nothing written outside /data and /tmp, so it runs with a read-only root file system.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
# ./test.sh runs this exact line (with its own output folder) and a test starts what it publishes.
RUN dotnet publish src/Portcullis.Gateway/Portcullis.Gateway.csproj -c Release --nologo -p:UseAppHost=false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
COPY --from=build /app /app
# /data is the working directory: relative paths in the configuration (the SQLite store, its master key file) land
# there. With PostgreSQL or Redis nothing is written to it. The image's `app` user ($APP_UID) owns it, not root.
RUN mkdir /data && chown "$APP_UID" /data
WORKDIR /data
USER $APP_UID
ENV ASPNETCORE_URLS=http://+:8080 \
    DOTNET_ENVIRONMENT=Production
EXPOSE 8080
# The runtime image has no curl or wget: the orchestrator probes GET /healthz (200 when the store answers), see
# deploy/compose.yaml and docs/deploy.md.
ENTRYPOINT ["dotnet", "/app/Portcullis.Gateway.dll"]
