import CapuchinSystem
import COpenSSL

/// A DER OCSP response stapled to a certificate's handshakes (nginx's
/// `ssl_stapling_file`): read from a file the operator refreshes (e.g. with
/// `openssl ocsp -respout`) and re-read on SIGHUP. Accepted only when it is a
/// successful response with a single response for this certificate (its serial
/// number and issuer name hash) that is current (thisUpdate not in the future,
/// nextUpdate not past, five minutes' leeway); once its nextUpdate passes it is
/// no longer sent. The responder's signature is the client's to check.
final class TLSOCSPStaple {
    let der: [UInt8]
    /// The response's nextUpdate (owned copy), nil when it has none.
    private let nextUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
    /// "good", "revoked" or "unknown": what the response says of the certificate.
    let certificateStatus: String

    /// Clock skew tolerated on thisUpdate and nextUpdate, as OpenSSL's own tools allow.
    static let leewaySeconds = 300

    /// Reads `file` and checks it against `certificate` (an X509*). Throws `TLSError` naming the file and reason.
    init(file: String, certificate: OpaquePointer) throws {
        let der: [UInt8]
        do { der = try FileSystem.readFile(file) } catch { throw TLSError("cannot read the OCSP response \(file): \(error)") }
        self.der = der
        _ = TLSError.drainReasons()
        let response: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_OCSP_RESPONSE(nil, &p, buf.count)
        }
        guard let response else { throw TLSError("\(file) is not a DER OCSP response") }
        defer { OCSP_RESPONSE_free(response) }
        let status = OCSP_response_status(response)
        guard status == OCSP_RESPONSE_STATUS_SUCCESSFUL else {
            throw TLSError("the OCSP response in \(file) is not successful (\(String(cString: OCSP_response_status_str(Int(status)))))")
        }
        guard let basic = OCSP_response_get1_basic(response) else { throw TLSError("the OCSP response in \(file) has no basic response") }
        defer { OCSP_BASICRESP_free(basic) }
        guard let single = Self.single(in: basic, for: certificate) else {
            throw TLSError("the OCSP response in \(file) is not for the certificate (serial number and issuer do not match)")
        }
        var reason: Int32 = 0
        var revoked: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
        var thisUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
        var next: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
        let certStatus = OCSP_single_get0_status(single, &reason, &revoked, &thisUpdate, &next)
        certificateStatus = String(cString: OCSP_cert_status_str(Int(certStatus)))
        guard let thisUpdate, OCSP_check_validity(thisUpdate, next, Self.leewaySeconds, -1) == 1 else {
            _ = TLSError.drainReasons()
            throw TLSError("the OCSP response in \(file) has expired or is not yet valid")
        }
        nextUpdate = next.flatMap { ASN1_STRING_dup($0) }
    }

    deinit { if let nextUpdate { ASN1_STRING_free(nextUpdate) } }

    /// Not past its nextUpdate (with the leeway): still worth sending.
    var isCurrent: Bool {
        guard let nextUpdate else { return true }
        var days: Int32 = 0, seconds: Int32 = 0
        guard ASN1_TIME_diff(&days, &seconds, nil, nextUpdate) == 1 else { return false }  // from now to nextUpdate
        return Int(days) * 86400 + Int(seconds) > -Self.leewaySeconds
    }

    /// The single response whose CertID names `certificate`: its serial number,
    /// and its issuer's name hashed with the CertID's algorithm.
    private static func single(in basic: OpaquePointer, for certificate: OpaquePointer) -> OpaquePointer? {
        guard let serial = X509_get0_serialNumber(certificate), let issuer = X509_get_issuer_name(certificate) else { return nil }
        for i in 0..<OCSP_resp_count(basic) {
            guard let single = OCSP_resp_get0(basic, i), let id = OCSP_SINGLERESP_get0_id(single) else { continue }
            var nameHash: UnsafeMutablePointer<ASN1_OCTET_STRING>?
            var algorithm: OpaquePointer?
            var idSerial: UnsafeMutablePointer<ASN1_INTEGER>?
            guard OCSP_id_get0_info(&nameHash, &algorithm, nil, &idSerial, id) == 1,
                  let nameHash, let algorithm, let idSerial, ASN1_INTEGER_cmp(idSerial, serial) == 0,
                  let digest = EVP_get_digestbyname(OBJ_nid2sn(OBJ_obj2nid(algorithm))) else { continue }
            var hash = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            guard X509_NAME_digest(issuer, digest, &hash, &length) == 1, Int(length) == Int(ASN1_STRING_length(nameHash)),
                  let expected = ASN1_STRING_get0_data(nameHash),
                  (0..<Int(length)).allSatisfy({ hash[$0] == expected[$0] }) else { continue }
            return single
        }
        return nil
    }
}
