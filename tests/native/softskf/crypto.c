/* SM2, SM3 and SM4 for softskf through OpenSSL 3 (EVP; no deprecated EC_KEY calls). */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "softskf.h"

void ss_cleanse(void *ptr, size_t len)
{
    if (ptr != NULL && len > 0)
        OPENSSL_cleanse(ptr, len);
}

ULONG ss_random(unsigned char *out, size_t len)
{
    return (len <= SS_MAX_RANDOM && RAND_bytes(out, (int)len) == 1) ? SAR_OK : SAR_GENRANDERR;
}

ULONG ss_pin_hash(const unsigned char salt[16], const char *pin, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sm3(), NULL) == 1 && EVP_DigestUpdate(ctx, salt, 16) == 1 &&
             EVP_DigestUpdate(ctx, pin, strlen(pin)) == 1 && EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    return ok ? SAR_OK : SAR_HASHERR;
}

ULONG ss_pin_set(ss_pin *pin, const char *value)
{
    ULONG rv = ss_random(pin->salt, sizeof(pin->salt));
    return rv != SAR_OK ? rv : ss_pin_hash(pin->salt, value, pin->hash);
}

int ss_pin_matches(const ss_pin *pin, const char *value)
{
    unsigned char hash[32];
    if (ss_pin_hash(pin->salt, value, hash) != SAR_OK)
        return 0;
    int same = CRYPTO_memcmp(hash, pin->hash, sizeof(hash)) == 0;
    ss_cleanse(hash, sizeof(hash));
    return same;
}

/* An EVP_PKEY for ``key`` (private part only when ``with_private``). */
static EVP_PKEY *to_pkey(const ss_key *key, int with_private)
{
    unsigned char point[65];
    point[0] = 0x04;
    memcpy(point + 1, key->pub, 64);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *d = with_private ? BN_bin2bn(key->d, 32, NULL) : NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    int ok = bld != NULL && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) == 1 &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) == 1 &&
             (!with_private || (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1));
    if (ok)
        params = OSSL_PARAM_BLD_to_param(bld);
    if (params != NULL)
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    BN_clear_free(d);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

ULONG ss_sm2_from_private(const unsigned char d[32], ss_key *key)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_sm2);
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    BIGNUM *bn = BN_bin2bn(d, 32, NULL);
    BIGNUM *limit = BN_new();
    BN_CTX *bnctx = BN_CTX_new();
    unsigned char raw[65];
    ULONG rv = SAR_FAIL;
    if (group && point && bn && limit && bnctx) {
        /* GB/T 32918: d in [1, n-2] */
        const BIGNUM *order = EC_GROUP_get0_order(group);
        if (BN_copy(limit, order) == NULL || BN_sub_word(limit, 1) != 1) {
            rv = SAR_FAIL;
        } else if (BN_is_zero(bn) || BN_cmp(bn, limit) >= 0) {
            rv = SAR_INDATAERR;
        } else if (EC_POINT_mul(group, point, bn, NULL, NULL, bnctx) == 1 &&
                   EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, raw, sizeof(raw), bnctx) == 65) {
            memcpy(key->d, d, 32);
            memcpy(key->pub, raw + 1, 64);
            key->present = 1;
            rv = SAR_OK;
        }
    }
    BN_CTX_free(bnctx);
    BN_free(limit);
    BN_clear_free(bn);
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return rv;
}

ULONG ss_sm2_generate(ss_key *key)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    EVP_PKEY *pkey = NULL;
    BIGNUM *d = NULL;
    unsigned char raw[32];
    ULONG rv = SAR_FAIL;
    if (ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_generate(ctx, &pkey) == 1 &&
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 && BN_bn2binpad(d, raw, 32) == 32)
        rv = ss_sm2_from_private(raw, key);
    ss_cleanse(raw, sizeof(raw));
    BN_clear_free(d);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

ULONG ss_sm2_sign_digest(const ss_key *key, const unsigned char e[32], unsigned char r[32], unsigned char s[32])
{
    EVP_PKEY *pkey = to_pkey(key, 1);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    unsigned char der[128];
    size_t der_len = sizeof(der);
    ECDSA_SIG *sig = NULL;
    ULONG rv = SAR_FAIL;
    if (ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, der, &der_len, e, 32) == 1) {
        const unsigned char *p = der;
        const BIGNUM *br = NULL, *bs = NULL;
        sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        if (sig != NULL) {
            ECDSA_SIG_get0(sig, &br, &bs);
            if (BN_bn2binpad(br, r, 32) == 32 && BN_bn2binpad(bs, s, 32) == 32)
                rv = SAR_OK;
        }
    }
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rv;
}

/* -- DER SM2Cipher (GM/T 0009: SEQUENCE { INTEGER x, INTEGER y, OCTET STRING hash, OCTET STRING c2 }) */

static size_t der_length(unsigned char *out, size_t len)
{
    if (len < 0x80) {
        out[0] = (unsigned char)len;
        return 1;
    }
    out[0] = 0x82; /* every length here is below 65536 */
    out[1] = (unsigned char)(len >> 8);
    out[2] = (unsigned char)len;
    return 3;
}

static size_t der_integer(unsigned char *out, const unsigned char value[32])
{
    size_t skip = 0;
    while (skip < 31 && value[skip] == 0)
        skip++;
    size_t len = 32 - skip, pad = (value[skip] & 0x80) ? 1 : 0;
    out[0] = 0x02;
    size_t n = 1 + der_length(out + 1, len + pad);
    if (pad)
        out[n++] = 0;
    memcpy(out + n, value + skip, len);
    return n + len;
}

static size_t der_octets(unsigned char *out, const unsigned char *value, size_t len)
{
    out[0] = 0x04;
    size_t n = 1 + der_length(out + 1, len);
    memcpy(out + n, value, len);
    return n + len;
}

ULONG ss_sm2_decrypt(const ss_key *key, const unsigned char x[32], const unsigned char y[32],
                     const unsigned char hash[32], const unsigned char *c2, size_t c2_len, unsigned char *out,
                     size_t *out_len)
{
    unsigned char body[2 * 36 + 35 + SS_MAX_ECC_BUFFER + 4], der[sizeof(body) + 4];
    if (c2_len == 0 || c2_len > SS_MAX_ECC_BUFFER)
        return SAR_INDATALENERR;
    size_t n = der_integer(body, x);
    n += der_integer(body + n, y);
    n += der_octets(body + n, hash, 32);
    n += der_octets(body + n, c2, c2_len);
    der[0] = 0x30;
    size_t head = 1 + der_length(der + 1, n);
    memcpy(der + head, body, n);

    EVP_PKEY *pkey = to_pkey(key, 1);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    size_t need = 0;
    ULONG rv = SAR_FAIL;
    if (ctx != NULL && EVP_PKEY_decrypt_init(ctx) == 1) {
        unsigned char *plain = NULL;
        if (EVP_PKEY_decrypt(ctx, NULL, &need, der, head + n) == 1 && (plain = OPENSSL_malloc(need)) != NULL) {
            size_t got = need;
            if (EVP_PKEY_decrypt(ctx, plain, &got, der, head + n) != 1) {
                rv = SAR_INDATAERR; /* C3 mismatch or a point not on the curve */
            } else if (got > *out_len) {
                rv = SAR_BUFFER_TOO_SMALL;
                *out_len = got;
            } else {
                memcpy(out, plain, got);
                *out_len = got;
                rv = SAR_OK;
            }
            OPENSSL_clear_free(plain, need);
        }
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rv;
}

ULONG ss_sm4_ecb_decrypt(const unsigned char key[16], const unsigned char *in, size_t len, unsigned char *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, tail = 0;
    int ok = ctx != NULL && len % 16 == 0 && len <= 64 && EVP_DecryptInit_ex(ctx, EVP_sm4_ecb(), NULL, key, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1 &&
             EVP_DecryptFinal_ex(ctx, out + n, &tail) == 1 && (size_t)(n + tail) == len;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? SAR_OK : SAR_FAIL;
}

int ss_is_certificate(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    int ok = cert != NULL && p == der + len;
    X509_free(cert);
    return ok;
}
