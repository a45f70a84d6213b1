/*
 * GM/T 0016-2012 (SKF) declarations for the subset softskf implements.
 *
 * Written from the standard's type and structure definitions: ULONG/BOOL are 32-bit on every
 * platform, handles are pointers, every structure is #pragma pack(1) and 64-byte coordinate fields
 * hold 256-bit values right-aligned. The static assertions at the end pin the layouts the Python
 * driver declares (drivers/skf/api.py); a change on either side breaks the build or the tests.
 */
#ifndef SOFTSKF_SKFAPI_H
#define SOFTSKF_SKFAPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DEVAPI __stdcall
#else
#define DEVAPI __attribute__((visibility("default")))
#endif

typedef uint8_t BYTE;
typedef char CHAR;
typedef int32_t INT32;
typedef uint32_t ULONG;
typedef uint32_t DWORD;
typedef int32_t BOOL;
typedef char *LPSTR;
typedef void *HANDLE;
typedef HANDLE DEVHANDLE;
typedef HANDLE HAPPLICATION;
typedef HANDLE HCONTAINER;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* Appendix A error codes. */
#define SAR_OK 0x00000000u
#define SAR_FAIL 0x0A000001u
#define SAR_UNKNOWNERR 0x0A000002u
#define SAR_NOTSUPPORTYETERR 0x0A000003u
#define SAR_FILEERR 0x0A000004u
#define SAR_INVALIDHANDLEERR 0x0A000005u
#define SAR_INVALIDPARAMERR 0x0A000006u
#define SAR_READFILEERR 0x0A000007u
#define SAR_WRITEFILEERR 0x0A000008u
#define SAR_NAMELENERR 0x0A000009u
#define SAR_KEYUSAGEERR 0x0A00000Au
#define SAR_MODULUSLENERR 0x0A00000Bu
#define SAR_NOTINITIALIZEERR 0x0A00000Cu
#define SAR_OBJERR 0x0A00000Du
#define SAR_MEMORYERR 0x0A00000Eu
#define SAR_TIMEOUTERR 0x0A00000Fu
#define SAR_INDATALENERR 0x0A000010u
#define SAR_INDATAERR 0x0A000011u
#define SAR_GENRANDERR 0x0A000012u
#define SAR_HASHOBJERR 0x0A000013u
#define SAR_HASHERR 0x0A000014u
#define SAR_GENRSAKEYERR 0x0A000015u
#define SAR_RSAMODULUSLENERR 0x0A000016u
#define SAR_CSPIMPRTPUBKEYERR 0x0A000017u
#define SAR_RSAENCERR 0x0A000018u
#define SAR_RSADECERR 0x0A000019u
#define SAR_HASHNOTEQUALERR 0x0A00001Au
#define SAR_KEYNOTFOUNTERR 0x0A00001Bu
#define SAR_CERTNOTFOUNTERR 0x0A00001Cu
#define SAR_NOTEXPORTERR 0x0A00001Du
#define SAR_DECRYPTPADERR 0x0A00001Eu
#define SAR_MACLENERR 0x0A00001Fu
#define SAR_BUFFER_TOO_SMALL 0x0A000020u
#define SAR_KEYINFOTYPEERR 0x0A000021u
#define SAR_NOT_EVENTERR 0x0A000022u
#define SAR_DEVICE_REMOVED 0x0A000023u
#define SAR_PIN_INCORRECT 0x0A000024u
#define SAR_PIN_LOCKED 0x0A000025u
#define SAR_PIN_INVALID 0x0A000026u
#define SAR_PIN_LEN_RANGE 0x0A000027u
#define SAR_USER_ALREADY_LOGGED_IN 0x0A000028u
#define SAR_USER_PIN_NOT_INITIALIZED 0x0A000029u
#define SAR_USER_TYPE_INVALID 0x0A00002Au
#define SAR_APPLICATION_NAME_INVALID 0x0A00002Bu
#define SAR_APPLICATION_EXISTS 0x0A00002Cu
#define SAR_USER_NOT_LOGGED_IN 0x0A00002Du
#define SAR_APPLICATION_NOT_EXISTS 0x0A00002Eu
#define SAR_FILE_ALREADY_EXIST 0x0A00002Fu
#define SAR_NO_ROOM 0x0A000030u
#define SAR_FILE_NOT_EXIST 0x0A000031u
#define SAR_REACH_MAX_CONTAINER_COUNT 0x0A000032u

/* Algorithm identifiers, GM/T 0016-2012 family (GM/T 0006 shifts the SM2 ones; see README). */
#define SGD_SM4_ECB 0x00000401u
#define SGD_SM4_CBC 0x00000402u
#define SGD_SM2_1 0x00020100u
#define SGD_SM2_2 0x00020200u
#define SGD_SM2_3 0x00020400u
#define SGD_SM3 0x00000001u

#define ADMIN_TYPE 0u
#define USER_TYPE 1u

#define DEV_ABSENT_STATE 0u
#define DEV_PRESENT_STATE 1u

#define CONTAINER_TYPE_EMPTY 0u
#define CONTAINER_TYPE_RSA 1u
#define CONTAINER_TYPE_ECC 2u

#define DEV_EVENT_INSERTED 1u
#define DEV_EVENT_REMOVED 2u

#define ECC_MAX_XCOORDINATE_BITS_LEN 512
#define ECC_MAX_YCOORDINATE_BITS_LEN 512
#define ECC_MAX_MODULUS_BITS_LEN 512

#pragma pack(push, 1)

typedef struct Struct_Version {
    BYTE major;
    BYTE minor;
} VERSION;

typedef struct Struct_DEVINFO {
    VERSION Version;
    CHAR Manufacturer[64];
    CHAR Issuer[64];
    CHAR Label[32];
    CHAR SerialNumber[32];
    VERSION HWVersion;
    VERSION FirmwareVersion;
    ULONG AlgSymCap;
    ULONG AlgAsymCap;
    ULONG AlgHashCap;
    ULONG DevAuthAlgId;
    ULONG TotalSpace;
    ULONG FreeSpace;
    ULONG MaxECCBufferSize;
    ULONG MaxBufferSize;
    BYTE Reserved[64];
} DEVINFO, *PDEVINFO;

typedef struct Struct_ECCPUBLICKEYBLOB {
    ULONG BitLen;
    BYTE XCoordinate[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE YCoordinate[ECC_MAX_YCOORDINATE_BITS_LEN / 8];
} ECCPUBLICKEYBLOB, *PECCPUBLICKEYBLOB;

typedef struct Struct_ECCPRIVATEKEYBLOB {
    ULONG BitLen;
    BYTE PrivateKey[ECC_MAX_MODULUS_BITS_LEN / 8];
} ECCPRIVATEKEYBLOB, *PECCPRIVATEKEYBLOB;

typedef struct Struct_ECCCIPHERBLOB {
    BYTE XCoordinate[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE YCoordinate[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE HASH[32];
    ULONG CipherLen;
    BYTE Cipher[1]; /* CipherLen bytes follow */
} ECCCIPHERBLOB, *PECCCIPHERBLOB;

typedef struct Struct_ECCSIGNATUREBLOB {
    BYTE r[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
    BYTE s[ECC_MAX_XCOORDINATE_BITS_LEN / 8];
} ECCSIGNATUREBLOB, *PECCSIGNATUREBLOB;

typedef struct SKF_ENVELOPEDKEYBLOB {
    ULONG Version;
    ULONG ulSymmAlgID;
    ULONG ulBits;
    BYTE cbEncryptedPriKey[64];
    ECCPUBLICKEYBLOB PubKey;
    ECCCIPHERBLOB ECCCipherBlob;
} ENVELOPEDKEYBLOB, *PENVELOPEDKEYBLOB;

#pragma pack(pop)

#define SOFTSKF_LAYOUT(expr, text) _Static_assert(expr, text)
SOFTSKF_LAYOUT(sizeof(ULONG) == 4 && sizeof(BOOL) == 4, "ULONG and BOOL are 32-bit");
SOFTSKF_LAYOUT(sizeof(DEVINFO) == 294, "DEVINFO is 294 bytes");
SOFTSKF_LAYOUT(offsetof(DEVINFO, HWVersion) == 194, "DEVINFO.HWVersion at 194");
SOFTSKF_LAYOUT(offsetof(DEVINFO, AlgSymCap) == 198, "DEVINFO.AlgSymCap at 198");
SOFTSKF_LAYOUT(offsetof(DEVINFO, Reserved) == 230, "DEVINFO.Reserved at 230");
SOFTSKF_LAYOUT(sizeof(ECCPUBLICKEYBLOB) == 132, "ECCPUBLICKEYBLOB is 132 bytes");
SOFTSKF_LAYOUT(sizeof(ECCPRIVATEKEYBLOB) == 68, "ECCPRIVATEKEYBLOB is 68 bytes");
SOFTSKF_LAYOUT(sizeof(ECCSIGNATUREBLOB) == 128, "ECCSIGNATUREBLOB is 128 bytes");
SOFTSKF_LAYOUT(offsetof(ECCCIPHERBLOB, CipherLen) == 160, "ECCCIPHERBLOB.CipherLen at 160");
SOFTSKF_LAYOUT(offsetof(ECCCIPHERBLOB, Cipher) == 164, "ECCCIPHERBLOB.Cipher at 164");
SOFTSKF_LAYOUT(offsetof(ENVELOPEDKEYBLOB, cbEncryptedPriKey) == 12, "cbEncryptedPriKey at 12");
SOFTSKF_LAYOUT(offsetof(ENVELOPEDKEYBLOB, PubKey) == 76, "PubKey at 76");
SOFTSKF_LAYOUT(offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob) == 208, "ECCCipherBlob at 208");

/* Device management */
ULONG DEVAPI SKF_WaitForDevEvent(LPSTR szDevName, ULONG *pulDevNameLen, ULONG *pulEvent);
ULONG DEVAPI SKF_CancelWaitForDevEvent(void);
ULONG DEVAPI SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize);
ULONG DEVAPI SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev);
ULONG DEVAPI SKF_DisConnectDev(DEVHANDLE hDev);
ULONG DEVAPI SKF_GetDevState(LPSTR szDevName, ULONG *pulDevState);
ULONG DEVAPI SKF_SetLabel(DEVHANDLE hDev, LPSTR szLabel);
ULONG DEVAPI SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo);
ULONG DEVAPI SKF_LockDev(DEVHANDLE hDev, ULONG ulTimeOut);
ULONG DEVAPI SKF_UnlockDev(DEVHANDLE hDev);

/* Access control */
ULONG DEVAPI SKF_ChangeDevAuthKey(DEVHANDLE hDev, BYTE *pbKeyValue, ULONG ulKeyLen);
ULONG DEVAPI SKF_DevAuth(DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen);
ULONG DEVAPI SKF_ChangePIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin, LPSTR szNewPin,
                           ULONG *pulRetryCount);
ULONG DEVAPI SKF_GetPINInfo(HAPPLICATION hApplication, ULONG ulPINType, ULONG *pulMaxRetryCount,
                            ULONG *pulRemainRetryCount, BOOL *pbDefaultPin);
ULONG DEVAPI SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN, ULONG *pulRetryCount);
ULONG DEVAPI SKF_UnblockPIN(HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN, ULONG *pulRetryCount);
ULONG DEVAPI SKF_ClearSecureState(HAPPLICATION hApplication);

/* Application management */
ULONG DEVAPI SKF_CreateApplication(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin, DWORD dwAdminPinRetryCount,
                                   LPSTR szUserPin, DWORD dwUserPinRetryCount, DWORD dwCreateFileRights,
                                   HAPPLICATION *phApplication);
ULONG DEVAPI SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize);
ULONG DEVAPI SKF_DeleteApplication(DEVHANDLE hDev, LPSTR szAppName);
ULONG DEVAPI SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication);
ULONG DEVAPI SKF_CloseApplication(HAPPLICATION hApplication);

/* Container management */
ULONG DEVAPI SKF_CreateContainer(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer);
ULONG DEVAPI SKF_DeleteContainer(HAPPLICATION hApplication, LPSTR szContainerName);
ULONG DEVAPI SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer);
ULONG DEVAPI SKF_CloseContainer(HCONTAINER hContainer);
ULONG DEVAPI SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize);
ULONG DEVAPI SKF_GetContainerType(HCONTAINER hContainer, ULONG *pulContainerType);
ULONG DEVAPI SKF_ImportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG ulCertLen);
ULONG DEVAPI SKF_ExportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG *pulCertLen);

/* Cryptographic services */
ULONG DEVAPI SKF_GenRandom(DEVHANDLE hDev, BYTE *pbRandom, ULONG ulRandomLen);
ULONG DEVAPI SKF_GenECCKeyPair(HCONTAINER hContainer, ULONG ulAlgId, ECCPUBLICKEYBLOB *pBlob);
ULONG DEVAPI SKF_ImportECCKeyPair(HCONTAINER hContainer, PENVELOPEDKEYBLOB pEnvelopedKeyBlob);
ULONG DEVAPI SKF_ECCSignData(HCONTAINER hContainer, BYTE *pbData, ULONG ulDataLen, PECCSIGNATUREBLOB pSignature);
ULONG DEVAPI SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob, ULONG *pulBlobLen);

/* Not in GM/T 0016-2012: the private-key decryption several vendors export under this name
 * (the signature with bSignFlag, as Tongsuo's SKF driver declares it). */
ULONG DEVAPI SKF_ECCDecrypt(HCONTAINER hContainer, BOOL bSignFlag, PECCCIPHERBLOB pCipherBlob, BYTE *pbPlainText,
                            ULONG *pulPlainTextLen);

#ifdef __cplusplus
}
#endif

#endif
