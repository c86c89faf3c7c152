"""A throwaway certificate authority for the TLS tests, made with the `openssl` command.

`ThrowawayCA(dir).issue(name, sans)` writes NAME.pem (the leaf) and NAME.key and returns
their paths; `ca.pem` is the root the clients trust. ECDSA P-256 unless `rsa=True`."""
import os
import ssl
import subprocess


def run(*args, cwd=None):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class ThrowawayCA:
    def __init__(self, directory, name="ca"):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.key = os.path.join(self.dir, name + ".key")
        self.pem = os.path.join(self.dir, name + ".pem")
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.key)
        run("openssl", "req", "-x509", "-new", "-key", self.key, "-subj", "/CN=Capuchin test CA " + name,
            "-days", "2", "-out", self.pem)
        self.serial = 1

    def issue(self, name, sans, rsa=False):
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        pem = os.path.join(self.dir, name + ".pem")
        ext = os.path.join(self.dir, name + ".ext")
        if rsa:
            run("openssl", "genrsa", "-out", key, "2048")
        else:
            run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
        run("openssl", "req", "-new", "-key", key, "-subj", "/CN=" + sans[0], "-out", csr)
        alt = ",".join(("IP:" if s.replace(".", "").isdigit() else "DNS:") + s for s in sans)
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n" % alt)
        self.serial += 1
        run("openssl", "x509", "-req", "-in", csr, "-CA", self.pem, "-CAkey", self.key, "-set_serial",
            str(self.serial), "-days", "2", "-extfile", ext, "-out", pem)
        return pem, key

    def ocsp_response(self, cert_pem, out, revoked=False):
        """A DER OCSP response signed by this CA for cert_pem (good, or revoked), written
        to out, as an operator makes one for `ocsp_file`: `openssl ocsp` with an index file."""
        serial = subprocess.run(["openssl", "x509", "-in", cert_pem, "-noout", "-serial"], check=True,
                                stdout=subprocess.PIPE).stdout.decode().strip().split("=")[1]
        index = out + ".index"
        with open(index, "w") as f:
            f.write("%s\t301231235959Z\t%s\t%s\tunknown\t/CN=x\n" % ("R" if revoked else "V",
                                                                     "240101000000Z" if revoked else "", serial))
        run("openssl", "ocsp", "-issuer", self.pem, "-cert", cert_pem, "-no_nonce", "-reqout", out + ".req")
        run("openssl", "ocsp", "-index", index, "-rsigner", self.pem, "-rkey", self.key, "-CA", self.pem,
            "-reqin", out + ".req", "-respout", out, "-ndays", "1")
        return out

    def client_context(self, alpn=("http/1.1",)):
        ctx = ssl.create_default_context(cafile=self.pem)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx


def peer_common_name(tls_sock):
    subject = dict(x[0] for x in tls_sock.getpeercert()["subject"])
    return subject["commonName"]


def peer_fingerprint(tls_sock):
    import hashlib
    return hashlib.sha256(tls_sock.getpeercert(binary_form=True)).hexdigest()
