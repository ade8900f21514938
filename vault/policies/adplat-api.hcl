# The admin API: signs audit checkpoints with the `audit` key and reads its public halves to
# verify them; reads its token-signing keys. It cannot create, rotate, configure, export or
# delete the key.
path "transit/sign/audit" {
  capabilities = ["update"]
}
path "transit/sign/audit/*" {
  capabilities = ["update"]
}
path "transit/keys/audit" {
  capabilities = ["read"]
}
path "secret/data/adplat/api/*" {
  capabilities = ["read"]
}
