"""Issuance of SM2 dual-certificate pairs, read top to bottom:

- ``holders``: who receives a pair (the session's account, locked), the rules a request must pass, the claims;
- ``pairs``: the CA and KMC work of a pair, storing it, and answering a retry with the pair it was issued;
- ``first``: 证书签发, batched on issuing threads (server.batcher);
- ``renewal``: 证书换发 and 证书更新, which supersede the old pair.
"""
