#!/bin/bash
# Variables whose names look like settings (lower case with dots, e.g. discovery.type) become -E options, as the
# official image does; then OpenSearch is exec'd so that it gets the container's signals.
set -euo pipefail
settings=()
while IFS= read -r line; do
  name=${line%%=*}
  [[ "$name" =~ ^[a-z0-9_]+(\.[a-z0-9_]+)+$ ]] && settings+=("-E" "$line")
done < <(env)
exec /usr/share/opensearch/bin/opensearch "${settings[@]}"
