// Where libonnxruntime.so is found: an explicit path, else $QUALS_ONNXRUNTIME_LIB, else the onnxruntime
// Python wheel (whose capi/ folder ships the C API library) in the usual places.
using System;
using System.Collections.Generic;
using System.IO;

namespace Quals.Native
{
    public static class OrtLibrary
    {
        public const string EnvVar = "QUALS_ONNXRUNTIME_LIB";

        public static string Locate(string explicitPath, string bundlePath)
        {
            var looked = new List<string>();
            if (!string.IsNullOrEmpty(explicitPath))
            {
                if (File.Exists(explicitPath)) return Path.GetFullPath(explicitPath);
                throw new OrtException("ONNX Runtime library not found at the given path: " + explicitPath);
            }
            string env = Environment.GetEnvironmentVariable(EnvVar);
            if (!string.IsNullOrEmpty(env))
            {
                if (File.Exists(env)) return Path.GetFullPath(env);
                throw new OrtException("ONNX Runtime library not found at $" + EnvVar + "=" + env);
            }
            var roots = new List<string> { Directory.GetCurrentDirectory() };
            if (!string.IsNullOrEmpty(bundlePath))
            {
                // the repository that holds the bundle (models/x or build/test-bundles/v7/x): walk up a few levels
                var d = new DirectoryInfo(Path.GetFullPath(bundlePath));
                for (int i = 0; i < 5 && d != null; i++, d = d.Parent)
                    if (!roots.Contains(d.FullName)) roots.Add(d.FullName);
            }
            var candidates = new List<string>();
            foreach (var root in roots)
            {
                looked.Add(Path.Combine(root, ".venv*/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*"));
                foreach (var venv in SafeDirs(root, ".venv*"))
                    foreach (var py in SafeDirs(Path.Combine(venv, "lib"), "python3*"))
                        candidates.Add(Path.Combine(py, "site-packages", "onnxruntime", "capi"));
            }
            string home = Environment.GetEnvironmentVariable("HOME");
            if (!string.IsNullOrEmpty(home)) looked.Add(Path.Combine(home, ".local/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*"));
            looked.Add("/usr/local/lib/python3*/dist-packages/onnxruntime/capi/libonnxruntime.so*");
            if (!string.IsNullOrEmpty(home))
                foreach (var py in SafeDirs(Path.Combine(home, ".local", "lib"), "python3*"))
                    candidates.Add(Path.Combine(py, "site-packages", "onnxruntime", "capi"));
            foreach (var py in SafeDirs("/usr/local/lib", "python3*"))
                candidates.Add(Path.Combine(py, "dist-packages", "onnxruntime", "capi"));
            candidates.Add("/usr/lib/python3/dist-packages/onnxruntime/capi");
            looked.Add("/usr/lib/python3/dist-packages/onnxruntime/capi/libonnxruntime.so*");
            foreach (var dir in candidates)
            {
                if (!Directory.Exists(dir)) continue;
                var libs = new List<string>(Directory.GetFiles(dir, "libonnxruntime.so*"));
                libs.RemoveAll(p => Path.GetFileName(p).Contains("providers"));
                libs.Sort(StringComparer.Ordinal);
                if (libs.Count > 0) return libs[libs.Count - 1];
            }
            throw new OrtException("ONNX Runtime C library (libonnxruntime.so) not found; pass its path, set $" + EnvVar
                + ", or install the onnxruntime Python wheel. Looked in:\n  " + string.Join("\n  ", looked));
        }

        static IEnumerable<string> SafeDirs(string parent, string pattern)
        {
            try { return Directory.Exists(parent) ? Directory.GetDirectories(parent, pattern) : new string[0]; }
            catch (Exception) { return new string[0]; }
        }
    }
}
