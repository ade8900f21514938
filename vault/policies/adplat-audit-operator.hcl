# An operator of the audit key: creates it (ed25519, not exportable), rotates it, sets which old
# versions still verify. Signing is not theirs: a rotation needs no signature, and a signature
# needs no rotation.
path "transit/keys/audit" {
  capabilities = ["create", "read", "update"]
}
path "transit/keys/audit/rotate" {
  capabilities = ["update"]
}
path "transit/keys/audit/config" {
  capabilities = ["update"]
}
