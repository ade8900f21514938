# The ledger writer: reads the event stream's entry keys, nothing else (not the tracking keys:
# it cannot sign a tracking URL).
path "secret/data/adplat/events/*" {
  capabilities = ["read"]
}
