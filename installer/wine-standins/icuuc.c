/* Wine stand-in for Windows 10's system ICU (icuuc.dll): Qt 6's QtCore imports these converter functions.
   Every converter fails to open, so Qt keeps to its own UTF-8/UTF-16/Latin-1 codecs. Only ever copied
   into a Wine prefix, never into the MSI. */
#include <stddef.h>
#include <stdint.h>
typedef int32_t UErrorCode;
typedef void UConverter;
typedef void (*UCallback)(void);
#define U_FILE_ACCESS_ERROR 4
#define U_UNSUPPORTED_ERROR 16
#define API __declspec(dllexport)
static void fail(UErrorCode *err, UErrorCode code) { if (err && *err <= 0) *err = code; }
API UConverter *ucnv_open(const char *name, UErrorCode *err) { (void)name; fail(err, U_FILE_ACCESS_ERROR); return NULL; }
API void ucnv_close(UConverter *c) { (void)c; }
API void ucnv_reset(UConverter *c) { (void)c; }
API int8_t ucnv_getMaxCharSize(const UConverter *c) { (void)c; return 1; }
API const char *ucnv_getName(const UConverter *c, UErrorCode *err) { (void)c; fail(err, U_UNSUPPORTED_ERROR); return ""; }
API void ucnv_getToUCallBack(const UConverter *c, UCallback *action, const void **context) { (void)c; if (action) *action = NULL; if (context) *context = NULL; }
API void ucnv_getFromUCallBack(const UConverter *c, UCallback *action, const void **context) { (void)c; if (action) *action = NULL; if (context) *context = NULL; }
API void ucnv_setToUCallBack(UConverter *c, UCallback a, const void *ctx, UCallback *old, const void **oldctx, UErrorCode *err) { (void)c; (void)a; (void)ctx; if (old) *old = NULL; if (oldctx) *oldctx = NULL; fail(err, U_UNSUPPORTED_ERROR); }
API void ucnv_setFromUCallBack(UConverter *c, UCallback a, const void *ctx, UCallback *old, const void **oldctx, UErrorCode *err) { (void)c; (void)a; (void)ctx; if (old) *old = NULL; if (oldctx) *oldctx = NULL; fail(err, U_UNSUPPORTED_ERROR); }
API void ucnv_cbToUWriteUChars(void *args, const void *source, int32_t length, int32_t offset, UErrorCode *err) { (void)args; (void)source; (void)length; (void)offset; fail(err, U_UNSUPPORTED_ERROR); }
API void ucnv_cbFromUWriteUChars(void *args, const void **source, const void *limit, int32_t offset, UErrorCode *err) { (void)args; (void)source; (void)limit; (void)offset; fail(err, U_UNSUPPORTED_ERROR); }
API void ucnv_toUnicode(UConverter *c, void **t, const void *tl, const char **s, const char *sl, int32_t *o, int8_t f, UErrorCode *err) { (void)c; (void)t; (void)tl; (void)s; (void)sl; (void)o; (void)f; fail(err, U_UNSUPPORTED_ERROR); }
API void ucnv_fromUnicode(UConverter *c, char **t, const char *tl, const void **s, const void *sl, int32_t *o, int8_t f, UErrorCode *err) { (void)c; (void)t; (void)tl; (void)s; (void)sl; (void)o; (void)f; fail(err, U_UNSUPPORTED_ERROR); }
API int32_t ucnv_toUCountPending(const UConverter *c, UErrorCode *err) { (void)c; (void)err; return 0; }
API int32_t ucnv_fromUCountPending(const UConverter *c, UErrorCode *err) { (void)c; (void)err; return 0; }
API const char *ucnv_getStandardName(const char *name, const char *standard, UErrorCode *err) { (void)name; (void)standard; (void)err; return NULL; }
API const char *ucnv_getAvailableName(int32_t n) { (void)n; return NULL; }
API int32_t ucnv_countAvailable(void) { return 0; }
API void UCNV_FROM_U_CALLBACK_SUBSTITUTE(void) {}
API void UCNV_TO_U_CALLBACK_SUBSTITUTE(void) {}
