/* A PKCS#11 module with no slots, built with mingw-w64 into the Wine test prefix only: it lets the
   tests prove that the installed app finds a module in its Windows location (System32, through a token
   profile with %SystemRoot%) and loads it with python-pkcs11. PKCS#11 structures are packed to 1 byte
   and CK_ULONG is 32 bits on Windows. */
#include <string.h>
#include <windows.h>

#pragma pack(push, 1)
typedef unsigned long CK_ULONG;
typedef CK_ULONG CK_RV;
typedef struct { unsigned char major, minor; } CK_VERSION;
typedef struct {
    CK_VERSION cryptokiVersion;
    unsigned char manufacturerID[32];
    CK_ULONG flags;
    unsigned char libraryDescription[32];
    CK_VERSION libraryVersion;
} CK_INFO;
typedef CK_RV (*CK_FN)(void);
typedef struct { CK_VERSION version; CK_FN functions[68]; } CK_FUNCTION_LIST;
#pragma pack(pop)

#define CKR_OK 0x0UL
#define CKR_ARGUMENTS_BAD 0x7UL
#define CKR_FUNCTION_NOT_SUPPORTED 0x54UL

static CK_RV not_supported(void) { return CKR_FUNCTION_NOT_SUPPORTED; }
static CK_RV initialize(void *args) { (void)args; return CKR_OK; }
static CK_RV finalize(void *reserved) { (void)reserved; return CKR_OK; }

static void pad(unsigned char *field, const char *text) {
    memset(field, ' ', 32);
    memcpy(field, text, strlen(text));
}

static CK_RV get_info(CK_INFO *info) {
    if (!info) return CKR_ARGUMENTS_BAD;
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
    pad(info->manufacturerID, "CertAssist test");
    info->flags = 0;
    pad(info->libraryDescription, "CertAssist test module");
    info->libraryVersion.major = 1;
    info->libraryVersion.minor = 0;
    return CKR_OK;
}

static CK_RV get_slot_list(unsigned char token_present, CK_ULONG *slots, CK_ULONG *count) {
    (void)token_present; (void)slots;
    if (!count) return CKR_ARGUMENTS_BAD;
    *count = 0;
    return CKR_OK;
}

static CK_FUNCTION_LIST functions;

__declspec(dllexport) CK_RV C_GetFunctionList(CK_FUNCTION_LIST **list) {
    if (!list) return CKR_ARGUMENTS_BAD;
    functions.version.major = 2;
    functions.version.minor = 40;
    for (int i = 0; i < 68; i++) functions.functions[i] = not_supported;
    functions.functions[0] = (CK_FN)initialize;
    functions.functions[1] = (CK_FN)finalize;
    functions.functions[2] = (CK_FN)get_info;
    functions.functions[3] = (CK_FN)C_GetFunctionList;
    functions.functions[4] = (CK_FN)get_slot_list;
    *list = &functions;
    return CKR_OK;
}
