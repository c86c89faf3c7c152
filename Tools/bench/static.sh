#!/bin/sh
# Thin wrapper: DUR and ROUNDS from the environment, other options passed through.
exec python3 "$(dirname "$0")/static.py" "$@"
