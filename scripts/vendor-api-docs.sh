#!/usr/bin/env bash
# Refresh the API documentation assets served at /docs and /redoc (src/lookout/api/static/):
# Swagger UI (swagger-ui-dist, Apache-2.0) and ReDoc (redoc, MIT) from the npm registry, with
# their licence files. The source-map comments are dropped (the maps are not shipped).
# Usage: scripts/vendor-api-docs.sh [SWAGGER_UI_VERSION] [REDOC_VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
SWAGGER=${1:-5.35.0}
REDOC=${2:-2.5.4}
out=src/lookout/api/static
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$SWAGGER" "redoc@$REDOC" >/dev/null)
mkdir -p "$tmp/s" "$tmp/r" "$out"
tar xzf "$tmp/swagger-ui-dist-$SWAGGER.tgz" -C "$tmp/s"
tar xzf "$tmp/redoc-$REDOC.tgz" -C "$tmp/r"
s=$tmp/s/package r=$tmp/r/package/bundles
sed '/^\/\/# sourceMappingURL=/d' "$s/swagger-ui-bundle.js" >"$out/swagger-ui-bundle.js"
sed '/^\/\*# sourceMappingURL=/d' "$s/swagger-ui.css" >"$out/swagger-ui.css"
cp "$s/swagger-ui-bundle.js.LICENSE.txt" "$out/"
cp "$s/LICENSE" "$out/swagger-ui.LICENSE"
cp "$s/NOTICE" "$out/swagger-ui.NOTICE"
cp "$s/favicon-32x32.png" "$out/favicon.png"
sed '/^\/\/# sourceMappingURL=/d' "$r/redoc.standalone.js" >"$out/redoc.standalone.js"
cp "$r/redoc.standalone.js.LICENSE.txt" "$out/"
cp "$tmp/r/package/LICENSE" "$out/redoc.LICENSE"
printf 'swagger-ui-dist %s (Apache-2.0)\nredoc %s (MIT)\n' "$SWAGGER" "$REDOC" >"$out/VERSIONS"
echo "vendored swagger-ui-dist $SWAGGER and redoc $REDOC into $out"
