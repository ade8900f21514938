# servingd: reads its tracking keys and the event stream's entry keys, nothing else.
path "secret/data/adplat/servingd/*" {
  capabilities = ["read"]
}
path "secret/data/adplat/events/*" {
  capabilities = ["read"]
}
