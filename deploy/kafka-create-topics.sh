#!/usr/bin/env bash
# Creates the suite's topics (see Contexts/Checkout/Context/CheckoutNames.swift); safe to re-run.
set -euo pipefail
partitions=${PARTITIONS:-12}
for topic in checkout.orders.events checkout.stock.events checkout.payments.events checkout.customers.events checkout.commands checkout.deadletter; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor 1 --config retention.ms=-1
done
