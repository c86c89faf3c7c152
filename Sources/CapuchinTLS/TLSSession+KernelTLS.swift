import CapuchinSystem
import COpenSSL

/// Kernel TLS for a server session (SSL_OP_ENABLE_KTLS, given a
/// `KernelTLSTransmit`). OpenSSL drives it through its write BIO, as it does
/// its own socket BIO (ssl/tls13_enc.c, t1_enc.c, rec_layer_s3.c of 3.0): when
/// the application write keys are set it flushes the BIO and asks it to take
/// them (BIO_CTRL_SET_KTLS with a crypto_info and the record sequence); when
/// the BIO accepts, OpenSSL afterwards writes plaintext, and precedes each
/// record of another type than application data (TLS 1.3 NewSessionTicket,
/// alerts such as close_notify) with BIO_CTRL_SET_KTLS_TX_SEND_CTRL_MSG, which
/// the kernel sends as one record of that type (a control message). The
/// transport then writes responses on the socket itself (`kernelSends`).
/// Receiving stays in user space: the read BIO refuses the receive keys.
extension TLSSession {
    /// The write BIO of a kernel-TLS session: records as `recordMethod` until
    /// the kernel took the keys, then plaintext and control records.
    static let kernelRecordMethod: OpaquePointer = {
        guard let m = BIO_meth_new(BIO_get_new_index() | cap_bio_type_records(), "capuchin records (kernel TLS)") else {
            fatalError("OpenSSL cannot allocate a BIO method")
        }
        _ = BIO_meth_set_write_ex(m) { bio, data, count, written in
            guard let bio, let data, let written, let raw = BIO_get_data(bio) else { return 0 }
            cap_bio_clear_retry(bio)
            let n = Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue().placeForKernel(data, count: count)
            if n > 0 || (n == 0 && count == 0) { written.pointee = n; return 1 }
            if n == 0 { cap_bio_set_retry_write(bio) }
            return 0
        }
        _ = BIO_meth_set_ctrl(m) { bio, cmd, num, ptr in
            guard let bio, let raw = BIO_get_data(bio) else { return 0 }
            return Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue().kernelControl(cmd, num, ptr)
        }
        return m
    }()

    /// Installs the kernel-TLS write BIO on a new server session (the read BIO
    /// refuses the receive keys). false when OpenSSL cannot allocate it.
    func installKernelTLSBIOs() -> Bool {
        guard installRecordBIO(Self.kernelRecordMethod) else { return false }
        _ = SSL_set_options(ssl, cap_op_enable_ktls())
        return true
    }

    /// OpenSSL's questions to the write BIO.
    private func kernelControl(_ cmd: Int32, _ num: Int, _ ptr: UnsafeMutableRawPointer?) -> Int {
        switch cmd {
        case BIO_CTRL_FLUSH:
            return 1
        case cap_bio_ctrl_set_ktls():
            // Transmit keys only (num is OpenSSL's `which & SSL3_CC_WRITE`: non-zero), once, and
            // only when every record written so far is on the socket: the kernel encrypts what follows.
            guard num != 0, let ptr, let kernel, !kernelSends, pendingBytes == 0, (batch?._withUnsafeGuaranteedRef { $0.count } ?? 0) == 0 else { return 0 }
            let length = cap_ktls_info_length(ptr)
            guard length > 0 else { return 0 }
            do { try kernel.enable(fd, UnsafeRawBufferPointer(start: ptr, count: length)) } catch { return 0 }
            kernelSends = true
            return 1
        case cap_bio_ctrl_get_ktls_send():
            return kernelSends ? 1 : 0
        case cap_bio_ctrl_ktls_send_ctrl_msg():
            controlRecordType = UInt8(truncatingIfNeeded: num)
            return 0
        case cap_bio_ctrl_ktls_clear_ctrl_msg():
            controlRecordType = nil
            return 0
        default:
            return 0
        }
    }

    /// Bytes taken, 0 to retry once the socket is writable, -1 on a socket error.
    private func placeForKernel(_ bytes: UnsafeRawPointer, count: Int) -> Int {
        guard kernelSends, let kernel, let type = controlRecordType else { return place(record: bytes, count: count) }
        // A control record goes after all that was written before it, in a sendmsg of its own.
        guard (try? sendPending()) == true else { return pendingBytes > 0 ? 0 : -1 }
        switch try? kernel.sendRecord(fd, type, UnsafeRawBufferPointer(start: bytes, count: count)) {
        case .processed?:
            // The kernel sends a control record whole or not at all (EAGAIN).
            controlRecordType = nil
            return count
        case .wouldBlock?: return 0
        case nil: return -1
        }
    }
}
