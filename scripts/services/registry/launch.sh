# Sourced by services.sh: the command line that runs Apicurio Registry (installed by install.sh)
# in the foreground, with in-memory storage and BACKWARD compatibility for every subject.
# Usage: registry_command PORT
registry_command() {
  local port="$1"
  local version="${APICURIO_VERSION:-3.0.9}"
  local home="${CENTAUR_SERVICES_HOME:-$HOME/.cache/centaur-services}/registry/apicurio-registry-$version"
  exec java -Xms64m -Xmx512m \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url=jdbc:h2:mem:registry \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dquarkus.log.level=WARN '-Dquarkus.log.category."io.apicurio".level=WARN' \
    -Dquarkus.http.access-log.enabled=false \
    '-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss} %-5p [%c{2.}] %s%e%n' \
    -jar "$home/apicurio-registry-app-$version-runner.jar"
}
