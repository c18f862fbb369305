// IOrtBackend over ONNX Runtime's C API: dlopen the library from an explicit path, take OrtGetApiBase,
// GetApi(17), and call the OrtApi function table through delegates created once (slot indices from
// hosts/native/ort_api.tsv; the table only grows at the end, so they hold for every release >= 1.17).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Quals.Native
{
    public sealed class OrtCApiBackend : IOrtBackend
    {
        const uint ApiVersion = 17;
        const int RTLD_NOW = 2;

        [DllImport("libdl.so.2")] static extern IntPtr dlopen(string path, int flags);
        [DllImport("libdl.so.2")] static extern IntPtr dlsym(IntPtr handle, string name);
        [DllImport("libdl.so.2")] static extern IntPtr dlerror();

        // ---- OrtApi slots (index: name) ----
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetApiBaseFn();
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetApiFn(uint version);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetVersionStringFn();
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetErrorMessageFn(IntPtr status);                  // 2
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr CreateEnvFn(int level, byte[] logid, out IntPtr env); // 3
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr CreateSessionFn(IntPtr env, byte[] path, IntPtr opts, out IntPtr session); // 7
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr RunFn(IntPtr session, IntPtr runOptions, IntPtr[] inNames,
            IntPtr[] inValues, UIntPtr nIn, IntPtr[] outNames, UIntPtr nOut, [In, Out] IntPtr[] outValues);                     // 9
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr CreateSessionOptionsFn(out IntPtr opts);          // 10
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr OptsIntFn(IntPtr opts, int value);               // 22, 23, 24, 25
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr OptsFn(IntPtr opts);                             // 19
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr CountFn(IntPtr session, out UIntPtr count);       // 30, 31
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr NameFn(IntPtr session, UIntPtr index, IntPtr allocator, out IntPtr name); // 36, 37
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr CreateTensorWithDataFn(IntPtr memInfo, IntPtr data, UIntPtr bytes,
            long[] shape, UIntPtr rank, int type, out IntPtr value);                                                       // 49
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetDataFn(IntPtr value, out IntPtr data);         // 51
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetElementTypeFn(IntPtr info, out int type);      // 60
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetDimsCountFn(IntPtr info, out UIntPtr count);   // 61
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetDimsFn(IntPtr info, [Out] long[] dims, UIntPtr n); // 62
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetTypeAndShapeFn(IntPtr value, out IntPtr info); // 65
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr CreateCpuMemoryInfoFn(int allocType, int memType, out IntPtr info); // 69
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr AllocatorFreeFn(IntPtr allocator, IntPtr p);      // 76
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr GetDefaultAllocatorFn(out IntPtr allocator);     // 78
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate void ReleaseFn(IntPtr handle);                           // 92..100
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate IntPtr ConfigEntryFn(IntPtr opts, byte[] key, byte[] value); // 130

        readonly GetErrorMessageFn getErrorMessage;
        readonly CreateSessionFn createSession;
        readonly RunFn run;
        readonly CreateSessionOptionsFn createSessionOptions;
        readonly OptsFn disableCpuMemArena;
        readonly ConfigEntryFn addSessionConfigEntry;
        readonly OptsIntFn setLogSeverity, setGraphOptLevel, setIntraOpThreads, setInterOpThreads;
        readonly CountFn inputCount, outputCount;
        readonly NameFn inputName, outputName;
        readonly CreateTensorWithDataFn createTensorWithData;
        readonly GetDataFn getTensorData;
        readonly GetElementTypeFn getElementType;
        readonly GetDimsCountFn getDimsCount;
        readonly GetDimsFn getDims;
        readonly GetTypeAndShapeFn getTypeAndShape;
        readonly AllocatorFreeFn allocatorFree;
        readonly GetDefaultAllocatorFn getDefaultAllocator;
        readonly ReleaseFn releaseEnv, releaseStatus, releaseMemoryInfo, releaseSession, releaseValue, releaseTypeAndShape, releaseSessionOptions;

        IntPtr env, memInfo;
        readonly List<Session> open = new List<Session>();
        public readonly string LibraryPath;
        public readonly string Version;

        sealed class Session
        {
            public IntPtr Handle;
            public string[] Inputs, Outputs;
            public Dictionary<string, IntPtr> NativeNames = new Dictionary<string, IntPtr>(); // UTF-8 copies of the names
        }

        /// <summary>A Run output: the OrtValue stays alive (and its data valid) until Dispose.</summary>
        sealed class OrtTensor : Tensor
        {
            readonly OrtCApiBackend owner;
            IntPtr value;

            public OrtTensor(OrtCApiBackend owner, IntPtr value, ElementType type, long[] shape, IntPtr data)
            {
                this.owner = owner; this.value = value; Type = type; Shape = shape; Data = data;
            }

            public override void Dispose()
            {
                if (value == IntPtr.Zero) return;
                owner.releaseValue(value);
                value = IntPtr.Zero;
                Data = IntPtr.Zero;
            }
        }

        public OrtCApiBackend(string libraryPath)
        {
            LibraryPath = libraryPath;
            IntPtr lib = dlopen(libraryPath, RTLD_NOW);
            if (lib == IntPtr.Zero)
                throw new OrtException("cannot load ONNX Runtime from " + libraryPath + ": " + Marshal.PtrToStringAnsi(dlerror()));
            IntPtr sym = dlsym(lib, "OrtGetApiBase");
            if (sym == IntPtr.Zero) throw new OrtException(libraryPath + " does not export OrtGetApiBase; is it the ONNX Runtime C library?");
            IntPtr apiBase = Fn<GetApiBaseFn>(sym)();
            Version = Utf8(Fn<GetVersionStringFn>(Marshal.ReadIntPtr(apiBase, IntPtr.Size))());
            IntPtr api = Fn<GetApiFn>(Marshal.ReadIntPtr(apiBase, 0))(ApiVersion);
            if (api == IntPtr.Zero) throw new OrtException("ONNX Runtime " + Version + " at " + libraryPath + " does not provide API version " + ApiVersion);

            getErrorMessage = Slot<GetErrorMessageFn>(api, 2);
            var createEnv = Slot<CreateEnvFn>(api, 3);
            createSession = Slot<CreateSessionFn>(api, 7);
            run = Slot<RunFn>(api, 9);
            createSessionOptions = Slot<CreateSessionOptionsFn>(api, 10);
            disableCpuMemArena = Slot<OptsFn>(api, 19);
            setLogSeverity = Slot<OptsIntFn>(api, 22);
            setGraphOptLevel = Slot<OptsIntFn>(api, 23);
            setIntraOpThreads = Slot<OptsIntFn>(api, 24);
            setInterOpThreads = Slot<OptsIntFn>(api, 25);
            inputCount = Slot<CountFn>(api, 30);
            outputCount = Slot<CountFn>(api, 31);
            inputName = Slot<NameFn>(api, 36);
            outputName = Slot<NameFn>(api, 37);
            createTensorWithData = Slot<CreateTensorWithDataFn>(api, 49);
            getTensorData = Slot<GetDataFn>(api, 51);
            getElementType = Slot<GetElementTypeFn>(api, 60);
            getDimsCount = Slot<GetDimsCountFn>(api, 61);
            getDims = Slot<GetDimsFn>(api, 62);
            getTypeAndShape = Slot<GetTypeAndShapeFn>(api, 65);
            var createCpuMemoryInfo = Slot<CreateCpuMemoryInfoFn>(api, 69);
            allocatorFree = Slot<AllocatorFreeFn>(api, 76);
            getDefaultAllocator = Slot<GetDefaultAllocatorFn>(api, 78);
            releaseEnv = Slot<ReleaseFn>(api, 92);
            releaseStatus = Slot<ReleaseFn>(api, 93);
            releaseMemoryInfo = Slot<ReleaseFn>(api, 94);
            releaseSession = Slot<ReleaseFn>(api, 95);
            releaseValue = Slot<ReleaseFn>(api, 96);
            releaseTypeAndShape = Slot<ReleaseFn>(api, 99);
            releaseSessionOptions = Slot<ReleaseFn>(api, 100);
            addSessionConfigEntry = Slot<ConfigEntryFn>(api, 130);

            Check(createEnv(3 /* ORT_LOGGING_LEVEL_ERROR */, Utf8z("quals"), out env));
            Check(createCpuMemoryInfo(1 /* OrtArenaAllocator */, 0 /* OrtMemTypeDefault */, out memInfo));
        }

        static T Fn<T>(IntPtr p) where T : class { return (T)(object)Marshal.GetDelegateForFunctionPointer(p, typeof(T)); }
        static T Slot<T>(IntPtr api, int index) where T : class { return Fn<T>(Marshal.ReadIntPtr(api, index * IntPtr.Size)); }

        static byte[] Utf8z(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            Array.Resize(ref b, b.Length + 1);
            return b;
        }

        static string Utf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            var b = new byte[n];
            Marshal.Copy(p, b, 0, n);
            return Encoding.UTF8.GetString(b);
        }

        void Check(IntPtr status)
        {
            if (status == IntPtr.Zero) return;
            string msg = Utf8(getErrorMessage(status));
            releaseStatus(status);
            throw new OrtException("ONNX Runtime: " + msg);
        }

        public object OpenSession(string modelPath, int threads)
        {
            if (env == IntPtr.Zero) throw new ObjectDisposedException("OrtCApiBackend");
            IntPtr opts;
            Check(createSessionOptions(out opts));
            var s = new Session();
            try
            {
                Check(setGraphOptLevel(opts, 99 /* ORT_ENABLE_ALL */));
                Check(setLogSeverity(opts, 3));
                // as the Python runtime: the arena keeps the largest buffer ever requested, so RSS only grows
                Check(disableCpuMemArena(opts));
                // pool threads wait between calls instead of spinning: a search calls the decoder 40-60 times per
                // text and does its own work in between, which a spinning thread keeps from the core it needs
                // (docs/performance.md)
                Check(addSessionConfigEntry(opts, Utf8z("session.intra_op.allow_spinning"), Utf8z("0")));
                if (threads > 0)
                {
                    Check(setIntraOpThreads(opts, threads));
                    Check(setInterOpThreads(opts, 1));
                }
                Check(createSession(env, Utf8z(modelPath), opts, out s.Handle));
            }
            finally { releaseSessionOptions(opts); }
            try
            {
                s.Inputs = Names(s.Handle, true);
                s.Outputs = Names(s.Handle, false);
            }
            catch { releaseSession(s.Handle); throw; }
            open.Add(s);
            return s;
        }

        string[] Names(IntPtr session, bool inputs)
        {
            IntPtr alloc;
            Check(getDefaultAllocator(out alloc)); // borrowed, never released
            UIntPtr n;
            Check(inputs ? inputCount(session, out n) : outputCount(session, out n));
            var names = new string[(int)n];
            for (int i = 0; i < names.Length; i++)
            {
                IntPtr p;
                Check(inputs ? inputName(session, (UIntPtr)i, alloc, out p) : outputName(session, (UIntPtr)i, alloc, out p));
                names[i] = Utf8(p);
                Check(allocatorFree(alloc, p));
            }
            return names;
        }

        public string[] InputNames(object session) { return (string[])((Session)session).Inputs.Clone(); }
        public string[] OutputNames(object session) { return (string[])((Session)session).Outputs.Clone(); }

        IntPtr NativeName(Session s, string name)
        {
            IntPtr p;
            if (s.NativeNames.TryGetValue(name, out p)) return p;
            var b = Utf8z(name);
            p = Marshal.AllocHGlobal(b.Length);
            Marshal.Copy(b, 0, p, b.Length);
            s.NativeNames[name] = p;
            return p;
        }

        public Tensor[] Run(object session, string[] inputNames, Tensor[] inputs, string[] outputNames)
        {
            var s = (Session)session;
            int nIn = inputs.Length, nOut = outputNames.Length;
            var inN = new IntPtr[nIn];
            var inV = new IntPtr[nIn];
            var outN = new IntPtr[nOut];
            var outV = new IntPtr[nOut];
            try
            {
                for (int i = 0; i < nIn; i++)
                {
                    inN[i] = NativeName(s, inputNames[i]);
                    var t = inputs[i];
                    // wraps the caller's memory: no copy
                    Check(createTensorWithData(memInfo, t.Data, (UIntPtr)t.Bytes, t.Shape, (UIntPtr)t.Shape.Length, (int)t.Type, out inV[i]));
                }
                for (int i = 0; i < nOut; i++) outN[i] = NativeName(s, outputNames[i]);
                Check(run(s.Handle, IntPtr.Zero, inN, inV, (UIntPtr)nIn, outN, (UIntPtr)nOut, outV));
                var result = new Tensor[nOut];
                for (int i = 0; i < nOut; i++)
                {
                    result[i] = Wrap(outV[i]);
                    outV[i] = IntPtr.Zero;
                }
                return result;
            }
            finally
            {
                foreach (var v in inV) if (v != IntPtr.Zero) releaseValue(v);
                foreach (var v in outV) if (v != IntPtr.Zero) releaseValue(v);
            }
        }

        Tensor Wrap(IntPtr value)
        {
            IntPtr info;
            Check(getTypeAndShape(value, out info));
            try
            {
                int type;
                UIntPtr rank;
                Check(getElementType(info, out type));
                Check(getDimsCount(info, out rank));
                var dims = new long[(int)rank];
                Check(getDims(info, dims, rank));
                IntPtr data;
                Check(getTensorData(value, out data));
                return new OrtTensor(this, value, (ElementType)type, dims, data);
            }
            finally { releaseTypeAndShape(info); }
        }

        public void CloseSession(object session)
        {
            var s = (Session)session;
            if (s.Handle == IntPtr.Zero) return;
            releaseSession(s.Handle);
            s.Handle = IntPtr.Zero;
            foreach (var p in s.NativeNames.Values) Marshal.FreeHGlobal(p);
            s.NativeNames.Clear();
            open.Remove(s);
        }

        public void Dispose()
        {
            foreach (var s in open.ToArray()) CloseSession(s);
            if (memInfo != IntPtr.Zero) { releaseMemoryInfo(memInfo); memInfo = IntPtr.Zero; }
            if (env != IntPtr.Zero) { releaseEnv(env); env = IntPtr.Zero; }
        }
    }
}
