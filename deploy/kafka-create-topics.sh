#!/usr/bin/env bash
# Creates the suite's topics, as listed in deploy/topics (`suitectl topology --topics`, which
# derives them from the contexts' declarations; scripts/check-topology keeps the two equal).
# Safe to re-run.
set -euo pipefail
partitions=${PARTITIONS:-12}
grep -v '^#' /deploy/topics | while read -r topic; do
  [ -n "$topic" ] || continue
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor 1 --config retention.ms=-1
done
