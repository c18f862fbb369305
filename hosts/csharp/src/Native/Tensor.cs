// Tensors in native memory, so ONNX Runtime reads inputs and the host reads outputs without copies.
using System;
using System.Runtime.InteropServices;

namespace Quals.Native
{
    /// <summary>ONNX element types the host uses (values of ONNXTensorElementDataType).</summary>
    public enum ElementType { Float = 1, Int64 = 7, Bool = 9 }

    /// <summary>A dense row-major tensor whose data lives at Data until Dispose.</summary>
    public abstract class Tensor : IDisposable
    {
        public ElementType Type { get; protected set; }
        public long[] Shape { get; protected set; }
        public IntPtr Data { get; protected set; }

        public long Count
        {
            get { long n = 1; foreach (long d in Shape) n *= d; return n; }
        }

        public static int ElementSize(ElementType t) { return t == ElementType.Bool ? 1 : t == ElementType.Float ? 4 : 8; }
        public long Bytes { get { return Count * ElementSize(Type); } }

        public abstract void Dispose();
    }

    /// <summary>A tensor the host allocated (Marshal.AllocHGlobal); it owns and frees the memory.</summary>
    public sealed class HostTensor : Tensor
    {
        bool disposed;

        public HostTensor(ElementType type, params long[] shape)
        {
            Type = type;
            Shape = (long[])shape.Clone();
            // never a null pointer, even for an empty tensor (a past KV of length 0)
            Data = Marshal.AllocHGlobal((IntPtr)Math.Max(Bytes, 8));
        }

        public static HostTensor FromLongs(long[] values, params long[] shape)
        {
            var t = new HostTensor(ElementType.Int64, shape);
            Marshal.Copy(values, 0, t.Data, values.Length);
            return t;
        }

        public static HostTensor Scalar(bool value)
        {
            var t = new HostTensor(ElementType.Bool, 1);
            Marshal.WriteByte(t.Data, value ? (byte)1 : (byte)0);
            return t;
        }

        public override void Dispose()
        {
            if (disposed) return;
            disposed = true;
            Marshal.FreeHGlobal(Data);
            Data = IntPtr.Zero;
            GC.SuppressFinalize(this);
        }

        ~HostTensor() { if (!disposed) Marshal.FreeHGlobal(Data); }
    }
}
