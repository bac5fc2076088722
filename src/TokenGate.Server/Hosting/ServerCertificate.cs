using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TokenGate.Server.Hosting;

/// <summary>Loads the HTTPS certificate given with <c>--certificate</c>: PKCS#12 (.pfx, .p12) with an optional password, or PEM
/// (certificate and key in one file, or the key in <c>--certificate-key</c>).</summary>
public static class ServerCertificate
{
    public static X509Certificate2? Load(TokenGateSettings settings)
    {
        if (settings.Certificate is not { } path)
        {
            return null;
        }

        try
        {
            var extension = Path.GetExtension(path);
            if (string.Equals(extension, ".pfx", StringComparison.OrdinalIgnoreCase) || string.Equals(extension, ".p12", StringComparison.OrdinalIgnoreCase))
            {
                return X509CertificateLoader.LoadPkcs12FromFile(path, settings.CertificatePassword);
            }

            return string.IsNullOrEmpty(settings.CertificatePassword)
                ? X509Certificate2.CreateFromPemFile(path, settings.CertificateKey)
                : X509Certificate2.CreateFromEncryptedPemFile(path, settings.CertificatePassword, settings.CertificateKey);
        }
        catch (CryptographicException exception)
        {
            // The message names the file, never the password.
            throw new TokenGateConfigurationException([$"--certificate: cannot load '{path}' ({exception.Message.TrimEnd('.')}): check the file, its key and its password."]);
        }
    }
}
