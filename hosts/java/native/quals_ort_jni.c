/*
 * JNI glue between io.quals.ort.JniOrtBackend and ONNX Runtime's C API.
 *
 * No ORT header is needed: the library is dlopen()ed (never linked: linking binds a versioned
 * OrtGetApiBase@VERS_x.y and breaks with any other release), OrtGetApiBase()->GetApi(17) gives the
 * function table, and the few slots used below are read by index (hosts/native/ort_api.tsv; the
 * table only grows at the end, so the indices hold for every release that serves API 17).
 *
 * Tensors cross as Java primitive arrays. Inputs are pinned with GetPrimitiveArrayCritical for the
 * duration of Run and handed to ORT without a copy (the KV cache is large); no JNI call is made while
 * they are pinned. Outputs are copied once into new Java arrays. Every ORT object created here is
 * released before the call returns, on the error paths too.
 */
#include <dlfcn.h>
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void OrtStatus;
typedef void OrtEnv;
typedef void OrtSession;
typedef void OrtSessionOptions;
typedef void OrtMemoryInfo;
typedef void OrtValue;
typedef void OrtAllocator;
typedef void OrtTensorTypeAndShapeInfo;

typedef struct {
    const void *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} OrtApiBase;

enum { API_VERSION = 17 };
enum { T_FLOAT = 1, T_INT64 = 7, T_BOOL = 9 };

/* Slot indices (hosts/native/ort_api.tsv). */
enum {
    S_GetErrorMessage = 2, S_CreateEnv = 3, S_CreateSession = 7, S_Run = 9, S_CreateSessionOptions = 10,
    S_DisableCpuMemArena = 19, S_SetSessionLogSeverityLevel = 22, S_SetSessionGraphOptimizationLevel = 23, S_SetIntraOpNumThreads = 24,
    S_SetInterOpNumThreads = 25, S_SessionGetInputCount = 30, S_SessionGetOutputCount = 31,
    S_SessionGetInputName = 36, S_SessionGetOutputName = 37, S_CreateTensorWithDataAsOrtValue = 49,
    S_GetTensorMutableData = 51, S_GetTensorElementType = 60, S_GetDimensionsCount = 61, S_GetDimensions = 62,
    S_GetTensorShapeElementCount = 64, S_GetTensorTypeAndShape = 65, S_CreateCpuMemoryInfo = 69,
    S_AllocatorFree = 76, S_GetAllocatorWithDefaultOptions = 78, S_ReleaseEnv = 92, S_ReleaseStatus = 93,
    S_ReleaseMemoryInfo = 94, S_ReleaseSession = 95, S_ReleaseValue = 96, S_ReleaseTensorTypeAndShapeInfo = 99,
    S_ReleaseSessionOptions = 100, S_AddSessionConfigEntry = 130
};

static void *const *g_api; /* the OrtApi table; set once by nInit */
#define FN(slot, type) ((type)g_api[slot])

typedef OrtStatus *(*fn_status0)(void);
static const char *err_message(OrtStatus *s) { return FN(S_GetErrorMessage, const char *(*)(OrtStatus *))(s); }
static void release(int slot, void *p) { if (p) FN(slot, void (*)(void *))(p); }

/* Throws io.quals.ort.OrtException(what: message) and frees the status. Returns 1 when it threw. */
static int check(JNIEnv *env, OrtStatus *s, const char *what) {
    if (!s) return 0;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s: %s", what, err_message(s));
    release(S_ReleaseStatus, s);
    jclass cls = (*env)->FindClass(env, "io/quals/ort/OrtException");
    if (cls) (*env)->ThrowNew(env, cls, buf);
    return 1;
}

static void throw_msg(JNIEnv *env, const char *msg) {
    jclass cls = (*env)->FindClass(env, "io/quals/ort/OrtException");
    if (cls) (*env)->ThrowNew(env, cls, msg);
}

/* Per backend: one environment and one CPU memory info, released by nClose. */
typedef struct {
    OrtEnv *env;
    OrtMemoryInfo *mem;
} Backend;

JNIEXPORT jstring JNICALL Java_io_quals_ort_JniOrtBackend_nInit(JNIEnv *env, jclass cls, jstring jpath) {
    const char *path = (*env)->GetStringUTFChars(env, jpath, NULL);
    if (!path) return NULL;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        char buf[2048];
        snprintf(buf, sizeof buf, "cannot load ONNX Runtime from %s: %s", path, dlerror());
        (*env)->ReleaseStringUTFChars(env, jpath, path);
        throw_msg(env, buf);
        return NULL;
    }
    const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
    if (!get_base) {
        char buf[2048];
        snprintf(buf, sizeof buf, "%s does not export OrtGetApiBase: not an ONNX Runtime library", path);
        (*env)->ReleaseStringUTFChars(env, jpath, path);
        throw_msg(env, buf);
        return NULL;
    }
    (*env)->ReleaseStringUTFChars(env, jpath, path);
    const OrtApiBase *base = get_base();
    const void *api = base->GetApi(API_VERSION);
    if (!api) {
        char buf[256];
        snprintf(buf, sizeof buf, "ONNX Runtime %s does not serve C API version %d", base->GetVersionString(),
                 API_VERSION);
        throw_msg(env, buf);
        return NULL;
    }
    g_api = (void *const *)api; /* the library stays loaded for the life of the process */
    return (*env)->NewStringUTF(env, base->GetVersionString());
}

JNIEXPORT jlong JNICALL Java_io_quals_ort_JniOrtBackend_nCreate(JNIEnv *env, jclass cls) {
    Backend *b = calloc(1, sizeof *b);
    if (!b) { throw_msg(env, "out of memory"); return 0; }
    if (check(env, FN(S_CreateEnv, OrtStatus *(*)(int, const char *, OrtEnv **))(3, "quals-java", &b->env),
              "CreateEnv") ||
        check(env, FN(S_CreateCpuMemoryInfo, OrtStatus *(*)(int, int, OrtMemoryInfo **))(1, 0, &b->mem),
              "CreateCpuMemoryInfo")) {
        release(S_ReleaseMemoryInfo, b->mem);
        release(S_ReleaseEnv, b->env);
        free(b);
        return 0;
    }
    return (jlong)(intptr_t)b;
}

JNIEXPORT void JNICALL Java_io_quals_ort_JniOrtBackend_nClose(JNIEnv *env, jclass cls, jlong handle) {
    Backend *b = (Backend *)(intptr_t)handle;
    if (!b) return;
    release(S_ReleaseMemoryInfo, b->mem);
    release(S_ReleaseEnv, b->env);
    free(b);
}

JNIEXPORT jlong JNICALL Java_io_quals_ort_JniOrtBackend_nCreateSession(JNIEnv *env, jclass cls, jlong handle,
                                                                      jstring jpath, jint threads) {
    Backend *b = (Backend *)(intptr_t)handle;
    OrtSessionOptions *opts = NULL;
    OrtSession *sess = NULL;
    typedef OrtStatus *(*set_int)(OrtSessionOptions *, int);
    if (check(env, FN(S_CreateSessionOptions, OrtStatus *(*)(OrtSessionOptions **))(&opts), "CreateSessionOptions"))
        return 0;
    /* As the Python runtime: all graph optimisations, errors only, no CPU arena (it keeps the largest buffer
     * ever requested, and shapes change every step), pool threads that wait between calls instead of spinning
     * (a search calls the decoder 40-60 times per text and does its own work in between, which a spinning
     * thread keeps from the core it needs: docs/performance.md), and with a thread count, one inter-op thread. */
    int failed = check(env, FN(S_SetSessionGraphOptimizationLevel, set_int)(opts, 99), "SetSessionGraphOptimizationLevel") ||
                 check(env, FN(S_SetSessionLogSeverityLevel, set_int)(opts, 3), "SetSessionLogSeverityLevel") ||
                 check(env, FN(S_DisableCpuMemArena, OrtStatus *(*)(OrtSessionOptions *))(opts), "DisableCpuMemArena") ||
                 check(env, FN(S_AddSessionConfigEntry, OrtStatus *(*)(OrtSessionOptions *, const char *, const char *))(
                           opts, "session.intra_op.allow_spinning", "0"), "AddSessionConfigEntry");
    if (!failed && threads > 0)
        failed = check(env, FN(S_SetIntraOpNumThreads, set_int)(opts, threads), "SetIntraOpNumThreads") ||
                 check(env, FN(S_SetInterOpNumThreads, set_int)(opts, 1), "SetInterOpNumThreads");
    if (!failed) {
        const char *path = (*env)->GetStringUTFChars(env, jpath, NULL);
        if (path) {
            check(env,
                  FN(S_CreateSession, OrtStatus *(*)(OrtEnv *, const char *, OrtSessionOptions *, OrtSession **))(
                      b->env, path, opts, &sess),
                  "CreateSession");
            (*env)->ReleaseStringUTFChars(env, jpath, path);
        }
    }
    release(S_ReleaseSessionOptions, opts);
    return (jlong)(intptr_t)sess;
}

JNIEXPORT void JNICALL Java_io_quals_ort_JniOrtBackend_nReleaseSession(JNIEnv *env, jclass cls, jlong sess) {
    release(S_ReleaseSession, (void *)(intptr_t)sess);
}

/* Input (output=0) or output (output=1) names of a session. */
JNIEXPORT jobjectArray JNICALL Java_io_quals_ort_JniOrtBackend_nNames(JNIEnv *env, jclass cls, jlong jsess,
                                                                     jboolean output) {
    OrtSession *sess = (OrtSession *)(intptr_t)jsess;
    OrtAllocator *alloc = NULL;
    size_t n = 0;
    if (check(env, FN(S_GetAllocatorWithDefaultOptions, OrtStatus *(*)(OrtAllocator **))(&alloc),
              "GetAllocatorWithDefaultOptions"))
        return NULL;
    int count_slot = output ? S_SessionGetOutputCount : S_SessionGetInputCount;
    int name_slot = output ? S_SessionGetOutputName : S_SessionGetInputName;
    if (check(env, FN(count_slot, OrtStatus *(*)(OrtSession *, size_t *))(sess, &n), "SessionGetCount")) return NULL;
    jobjectArray out = (*env)->NewObjectArray(env, (jsize)n, (*env)->FindClass(env, "java/lang/String"), NULL);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        char *name = NULL;
        if (check(env, FN(name_slot, OrtStatus *(*)(OrtSession *, size_t, OrtAllocator *, char **))(sess, i, alloc, &name),
                  "SessionGetName"))
            return NULL;
        jstring s = (*env)->NewStringUTF(env, name);
        FN(S_AllocatorFree, OrtStatus *(*)(OrtAllocator *, void *))(alloc, name);
        if (!s) return NULL;
        (*env)->SetObjectArrayElement(env, out, (jsize)i, s);
        (*env)->DeleteLocalRef(env, s);
    }
    return out;
}

/* Element type of a Java primitive array: float[] -> FLOAT, long[] -> INT64, boolean[] -> BOOL. */
static int element_type(JNIEnv *env, jobject arr, size_t *elem_size) {
    static const struct { const char *cls; int type; size_t size; } kinds[] = {
        {"[F", T_FLOAT, 4}, {"[J", T_INT64, 8}, {"[Z", T_BOOL, 1}};
    for (int k = 0; k < 3; k++) {
        jclass c = (*env)->FindClass(env, kinds[k].cls);
        jboolean is = (*env)->IsInstanceOf(env, arr, c);
        (*env)->DeleteLocalRef(env, c);
        if (is) { *elem_size = kinds[k].size; return kinds[k].type; }
    }
    return 0;
}

static char g_empty[8]; /* data pointer for zero-element tensors */

/*
 * Run a session. inputs[i] is a float[], long[] or boolean[] holding a tensor of shape shapes[i]
 * (row-major). Returns {shape0 (long[]), data0, shape1, data1, ...} in the order of outNames.
 */
JNIEXPORT jobjectArray JNICALL Java_io_quals_ort_JniOrtBackend_nRun(JNIEnv *env, jclass cls, jlong handle, jlong jsess,
                                                                   jobjectArray inNames, jobjectArray inputs,
                                                                   jobjectArray shapes, jobjectArray outNames) {
    Backend *b = (Backend *)(intptr_t)handle;
    OrtSession *sess = (OrtSession *)(intptr_t)jsess;
    jsize nin = (*env)->GetArrayLength(env, inputs), nout = (*env)->GetArrayLength(env, outNames);
    jobjectArray result = NULL;

    /* Everything below is freed at `done`, whatever happened. */
    jstring *in_jnames = calloc(nin + 1, sizeof *in_jnames), *out_jnames = calloc(nout + 1, sizeof *out_jnames);
    const char **in_names = calloc(nin + 1, sizeof *in_names), **out_names = calloc(nout + 1, sizeof *out_names);
    jobject *arrays = calloc(nin + 1, sizeof *arrays);
    void **pinned = calloc(nin + 1, sizeof *pinned);
    int64_t **dims = calloc(nin + 1, sizeof *dims);
    jsize *ranks = calloc(nin + 1, sizeof *ranks);
    int *types = calloc(nin + 1, sizeof *types);
    size_t *bytes = calloc(nin + 1, sizeof *bytes);
    OrtValue **in_vals = calloc(nin + 1, sizeof *in_vals), **out_vals = calloc(nout + 1, sizeof *out_vals);
    int n_pinned = 0;
    if (!in_jnames || !out_jnames || !in_names || !out_names || !arrays || !pinned || !dims || !ranks || !types ||
        !bytes || !in_vals || !out_vals) {
        throw_msg(env, "out of memory");
        goto done;
    }

    /* 1. Gather names, arrays, types and shapes (JNI calls allowed: nothing is pinned yet). */
    if ((*env)->EnsureLocalCapacity(env, 2 * nin + nout + 16) != 0) goto done;
    for (jsize i = 0; i < nin; i++) {
        in_jnames[i] = (*env)->GetObjectArrayElement(env, inNames, i);
        in_names[i] = (*env)->GetStringUTFChars(env, in_jnames[i], NULL);
        arrays[i] = (*env)->GetObjectArrayElement(env, inputs, i);
        jlongArray shape = (*env)->GetObjectArrayElement(env, shapes, i);
        if (!in_names[i] || !arrays[i] || !shape) { throw_msg(env, "null input name, array or shape"); goto done; }
        size_t esize = 0;
        types[i] = element_type(env, arrays[i], &esize);
        if (!types[i]) { throw_msg(env, "input arrays must be float[], long[] or boolean[]"); goto done; }
        ranks[i] = (*env)->GetArrayLength(env, shape);
        dims[i] = calloc(ranks[i] + 1, sizeof(int64_t));
        if (!dims[i]) { throw_msg(env, "out of memory"); goto done; }
        (*env)->GetLongArrayRegion(env, shape, 0, ranks[i], (jlong *)dims[i]);
        (*env)->DeleteLocalRef(env, shape);
        int64_t count = 1;
        for (jsize d = 0; d < ranks[i]; d++) count *= dims[i][d];
        if (count != (*env)->GetArrayLength(env, arrays[i])) {
            char buf[512];
            snprintf(buf, sizeof buf, "input %s: shape holds %lld elements but the array has %d", in_names[i],
                     (long long)count, (int)(*env)->GetArrayLength(env, arrays[i]));
            throw_msg(env, buf);
            goto done;
        }
        bytes[i] = (size_t)count * esize;
    }
    for (jsize i = 0; i < nout; i++) {
        out_jnames[i] = (*env)->GetObjectArrayElement(env, outNames, i);
        out_names[i] = (*env)->GetStringUTFChars(env, out_jnames[i], NULL);
        if (!out_names[i]) goto done;
    }

    /* 2. Pin the inputs and run: no JNI call until they are released. */
    OrtStatus *status = NULL;
    const char *what = "Run";
    for (jsize i = 0; i < nin; i++) {
        pinned[i] = (*env)->GetPrimitiveArrayCritical(env, arrays[i], NULL);
        if (!pinned[i]) break;
        n_pinned++;
        status = FN(S_CreateTensorWithDataAsOrtValue,
                    OrtStatus *(*)(const OrtMemoryInfo *, void *, size_t, const int64_t *, size_t, int, OrtValue **))(
            b->mem, bytes[i] ? pinned[i] : g_empty, bytes[i], dims[i], (size_t)ranks[i], types[i], &in_vals[i]);
        if (status) { what = "CreateTensorWithDataAsOrtValue"; break; }
    }
    if (!status && n_pinned == nin)
        status = FN(S_Run, OrtStatus *(*)(OrtSession *, const void *, const char *const *, const OrtValue *const *, size_t,
                                          const char *const *, size_t, OrtValue **))(
            sess, NULL, in_names, (const OrtValue *const *)in_vals, (size_t)nin, out_names, (size_t)nout, out_vals);
    for (jsize i = 0; i < nin; i++) { release(S_ReleaseValue, in_vals[i]); in_vals[i] = NULL; }
    for (int i = n_pinned - 1; i >= 0; i--) (*env)->ReleasePrimitiveArrayCritical(env, arrays[i], pinned[i], JNI_ABORT);
    if (n_pinned < nin && !status) { throw_msg(env, "cannot pin an input array"); goto done; }
    if (check(env, status, what)) goto done;

    /* 3. Copy the outputs into new Java arrays. */
    result = (*env)->NewObjectArray(env, 2 * nout, (*env)->FindClass(env, "java/lang/Object"), NULL);
    if (!result) goto done;
    for (jsize i = 0; i < nout; i++) {
        OrtTensorTypeAndShapeInfo *info = NULL;
        int type = 0;
        size_t rank = 0, count = 0;
        void *data = NULL;
        int64_t shape[16];
        if (check(env, FN(S_GetTensorTypeAndShape, OrtStatus *(*)(const OrtValue *, OrtTensorTypeAndShapeInfo **))(out_vals[i], &info), "GetTensorTypeAndShape")) { result = NULL; goto done; }
        int bad = check(env, FN(S_GetTensorElementType, OrtStatus *(*)(const void *, int *))(info, &type), "GetTensorElementType") ||
                  check(env, FN(S_GetDimensionsCount, OrtStatus *(*)(const void *, size_t *))(info, &rank), "GetDimensionsCount") ||
                  (rank > 16 && (throw_msg(env, "output rank above 16"), 1)) ||
                  check(env, FN(S_GetDimensions, OrtStatus *(*)(const void *, int64_t *, size_t))(info, shape, rank), "GetDimensions") ||
                  check(env, FN(S_GetTensorShapeElementCount, OrtStatus *(*)(const void *, size_t *))(info, &count), "GetTensorShapeElementCount") ||
                  check(env, FN(S_GetTensorMutableData, OrtStatus *(*)(OrtValue *, void **))(out_vals[i], &data), "GetTensorMutableData");
        release(S_ReleaseTensorTypeAndShapeInfo, info);
        if (bad) { result = NULL; goto done; }
        jlongArray jshape = (*env)->NewLongArray(env, (jsize)rank);
        if (!jshape) { result = NULL; goto done; }
        (*env)->SetLongArrayRegion(env, jshape, 0, (jsize)rank, (const jlong *)shape);
        jarray arr = NULL;
        if (type == T_FLOAT) {
            arr = (*env)->NewFloatArray(env, (jsize)count);
            if (arr) (*env)->SetFloatArrayRegion(env, arr, 0, (jsize)count, (const jfloat *)data);
        } else if (type == T_INT64) {
            arr = (*env)->NewLongArray(env, (jsize)count);
            if (arr) (*env)->SetLongArrayRegion(env, arr, 0, (jsize)count, (const jlong *)data);
        } else if (type == T_BOOL) {
            arr = (*env)->NewBooleanArray(env, (jsize)count);
            if (arr) (*env)->SetBooleanArrayRegion(env, arr, 0, (jsize)count, (const jboolean *)data);
        } else {
            char buf[256];
            snprintf(buf, sizeof buf, "output %s has element type %d (only float, int64, bool are read)", out_names[i], type);
            throw_msg(env, buf);
        }
        if (!arr) { result = NULL; goto done; }
        (*env)->SetObjectArrayElement(env, result, 2 * i, jshape);
        (*env)->SetObjectArrayElement(env, result, 2 * i + 1, arr);
        (*env)->DeleteLocalRef(env, jshape);
        (*env)->DeleteLocalRef(env, arr);
    }

done:
    if (out_vals) for (jsize i = 0; i < nout; i++) release(S_ReleaseValue, out_vals[i]);
    if (in_names) for (jsize i = 0; i < nin; i++) if (in_names[i]) (*env)->ReleaseStringUTFChars(env, in_jnames[i], in_names[i]);
    if (out_names) for (jsize i = 0; i < nout; i++) if (out_names[i]) (*env)->ReleaseStringUTFChars(env, out_jnames[i], out_names[i]);
    if (dims) for (jsize i = 0; i < nin; i++) free(dims[i]);
    if (arrays) for (jsize i = 0; i < nin; i++) if (arrays[i]) (*env)->DeleteLocalRef(env, arrays[i]);
    if (in_jnames) for (jsize i = 0; i < nin; i++) if (in_jnames[i]) (*env)->DeleteLocalRef(env, in_jnames[i]);
    if (out_jnames) for (jsize i = 0; i < nout; i++) if (out_jnames[i]) (*env)->DeleteLocalRef(env, out_jnames[i]);
    free(in_jnames); free(out_jnames); free(in_names); free(out_names); free(arrays); free(pinned);
    free(dims); free(ranks); free(types); free(bytes); free(in_vals); free(out_vals);
    return result;
}

/* io.quals.NativeExp.nExp: out[0..len) = expf(x[off..off+len)) (see quals_fast_exp.c). */
void quals_expf_array(const float *x, float *y, int n);

JNIEXPORT void JNICALL Java_io_quals_NativeExp_nExp(JNIEnv *env, jclass cls, jfloatArray x, jint off, jint len,
                                                   jfloatArray out) {
    float *in = (*env)->GetPrimitiveArrayCritical(env, x, NULL);
    if (!in) return;
    float *o = (*env)->GetPrimitiveArrayCritical(env, out, NULL);
    if (o) {
        quals_expf_array(in + off, o, len);
        (*env)->ReleasePrimitiveArrayCritical(env, out, o, 0);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, x, in, JNI_ABORT);
}
