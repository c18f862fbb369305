// The one seam between the scorer and ONNX Runtime. OrtCApiBackend implements it over the C API function
// table; a user of the official Microsoft.ML.OnnxRuntime package can implement it with InferenceSession /
// OrtValue instead (see README.md), and nothing else in the host changes.
using System;

namespace Quals.Native
{
    public interface IOrtBackend : IDisposable
    {
        /// <summary>Open a model. threads: intra-op threads (inter-op is then 1); 0 leaves ORT's default.</summary>
        object OpenSession(string modelPath, int threads);

        string[] InputNames(object session);
        string[] OutputNames(object session);

        /// <summary>Run the model. Inputs stay owned by the caller; the returned tensors (one per output
        /// name, in order) are owned by the caller, who must Dispose them.</summary>
        Tensor[] Run(object session, string[] inputNames, Tensor[] inputs, string[] outputNames);

        void CloseSession(object session);
    }
}
