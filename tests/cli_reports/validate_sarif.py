#!/usr/bin/env python3
"""validate_sarif.py SCHEMA LOG - validate a SARIF log against the SARIF
2.1.0 JSON schema with the jsonschema package (Debian: python3-jsonschema).
Prints one line per violation; exit 0 valid, 1 invalid, 2 cannot validate."""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("validate_sarif.py: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(2)

with open(sys.argv[1]) as f:
    schema = json.load(f)
with open(sys.argv[2]) as f:
    log = json.load(f)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(log), key=lambda e: list(e.absolute_path))
for e in errors:
    print("%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message))
sys.exit(1 if errors else 0)
