// Typed errors, as runtime/quals/errors.py: the library throws, only the CLI turns them into messages.
using System;

namespace Quals
{
    public class QualsException : Exception
    {
        public QualsException(string message) : base(message) { }
        public QualsException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>A bundle is missing, incomplete, tampered with, or uses something this host does not support.</summary>
    public class BundleException : QualsException
    {
        public BundleException(string message) : base(message) { }
        public BundleException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>A record or argument cannot be scored as given.</summary>
    public class InputException : QualsException
    {
        public InputException(string message) : base(message) { }
    }

    /// <summary>Options that contradict each other or the bundle.</summary>
    public class OptionsException : QualsException
    {
        public OptionsException(string message) : base(message) { }
    }

    /// <summary>ONNX Runtime could not be found, loaded or called.</summary>
    public class OrtException : QualsException
    {
        public OrtException(string message) : base(message) { }
    }
}
