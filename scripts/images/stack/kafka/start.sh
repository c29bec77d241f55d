#!/bin/bash
# Writes server.properties from the KAFKA_* environment (KAFKA_LOG_DIRS -> log.dirs), formats the KRaft storage
# once, then execs the broker so that it gets the container's signals.
set -euo pipefail
props=/opt/kafka/config/server.properties
: > "$props"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_CLUSTER_ID) continue ;;
    KAFKA_*) key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | tr '_' '.'); printf '%s=%s\n' "$key" "$value" >> "$props" ;;
  esac
done < <(env)
cat > /opt/kafka/config/log4j2.properties <<'LOG'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
LOG
java_opts=(${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*')
log_dir=$(sed -n 's/^log\.dirs=//p' "$props" | cut -d, -f1)
if [ ! -e "${log_dir:-/var/lib/kafka/data}/meta.properties" ]; then
  cluster_id=${KAFKA_CLUSTER_ID:-$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | sed 's/^-/A/')}
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$props"
fi
exec java "${java_opts[@]}" kafka.Kafka "$props"
