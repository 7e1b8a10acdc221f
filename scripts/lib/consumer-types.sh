# Sourced by the first-run scripts. consumer_types MODE type-checks ./consumer.ts, strict, with
# no @types/node, under the three module resolutions a consumer may use (node16, nodenext,
# bundler). MODE "strict": any error fails. MODE "ours": only errors inside @oidc-auth's .d.ts
# files fail (a consumer importing got needs @types/node; the first run checks that separately).
consumer_types() {
  local mode="$1" resolution
  for resolution in "node16 node16" "nodenext nodenext" "esnext bundler"; do
    set -- $resolution
    cat > "tsconfig.$2.json" <<JSON
{ "compilerOptions": { "strict": true, "noEmit": true, "types": [], "skipLibCheck": false,
    "target": "es2022", "lib": ["es2022", "dom"], "module": "$1", "moduleResolution": "$2" },
  "files": ["consumer.ts"] }
JSON
    if npx tsc -p "tsconfig.$2.json" > "tsc-$2.log" 2>&1; then
      echo "types ($2): clean"
      continue
    fi
    if [ "$mode" = strict ]; then
      cat "tsc-$2.log" >&2; echo "types: errors with moduleResolution $2" >&2; exit 1
    fi
    if grep -E "node_modules/@oidc-auth/" "tsc-$2.log"; then
      echo "types: errors inside @oidc-auth .d.ts files with moduleResolution $2" >&2; exit 1
    fi
    echo "types ($2): no error inside @oidc-auth .d.ts files; elsewhere: $(grep -c 'error TS' "tsc-$2.log")"
    grep "error TS" "tsc-$2.log" | sed 's/^/  /' | head -3 || true
  done
}
