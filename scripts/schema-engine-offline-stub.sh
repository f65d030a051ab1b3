#!/bin/sh
# Stands in for Prisma's native schema-engine where it could not be downloaded
# (offline). `prisma generate/validate/format` only check that the file exists;
# anything that would really run the engine must fail loudly, never "succeed"
# while applying nothing. Arguments are not echoed: they carry the database URL.
if [ "$1" = "--version" ]; then
    echo "schema-engine-cli 0.0.0-offline-stub"
    exit 0
fi
msg="OFFLINE_STUB: Prisma's native schema-engine is not installed (offline machine); use npm run db:migrate (wasm engine) instead"
echo "$msg" >&2
printf '{"level":"ERROR","target":"schema_engine::logger","fields":{"message":"%s","error_code":"OFFLINE_STUB"}}\n' "$msg" >&2
exit 1
