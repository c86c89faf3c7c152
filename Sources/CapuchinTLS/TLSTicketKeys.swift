import COpenSSL
import CapuchinSystem

/// The session-ticket keys of the process: one ring shared by every worker and
/// every SSL_CTX (reload included), so a ticket issued on one worker resumes on
/// any other, and after a certificate reload. The current key encrypts; the
/// previous ones still decrypt (and ask for a fresh ticket) until they age out.
/// Keys live only in memory: a restart invalidates tickets (full handshakes).
final class TLSTicketKeys: @unchecked Sendable { // safe: `ring` is only reached under its lock
    struct Key {
        var name: [UInt8]
        var aes: [UInt8]
        var hmac: [UInt8]
        var created: UInt64
    }

    /// A new encrypting key this often; a ticket stays decryptable for
    /// `rotationNanos * keptKeys` (longer than OpenSSL's 2 h ticket lifetime hint).
    static let rotationNanos: UInt64 = 6 * 3600 * 1_000_000_000
    static let keptKeys = 3

    static let shared = TLSTicketKeys()

    private let ring: Lock<[Key]>

    init() { ring = Lock([Self.newKey(now: Clock.monotonicNanos())]) }

    private static func newKey(now: UInt64) -> Key {
        func random(_ n: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: n)
            precondition(RAND_bytes(&b, Int32(n)) == 1, "RAND_bytes failed")
            return b
        }
        return Key(name: random(16), aes: random(32), hmac: random(32), created: now)
    }

    /// Starts a new current key now (tests; a rotation without waiting).
    func rotate() { ring.withLock { Self.push(&$0, now: Clock.monotonicNanos()) } }

    private static func push(_ keys: inout [Key], now: UInt64) {
        keys.insert(newKey(now: now), at: 0)
        if keys.count > keptKeys { keys.removeLast() }
    }

    /// The key to encrypt a new ticket with (rotating when the current one is old).
    private func current() -> Key {
        ring.withLock { keys in
            let now = Clock.monotonicNanos()
            if now &- keys[0].created > Self.rotationNanos { Self.push(&keys, now: now) }
            return keys[0]
        }
    }

    /// The key named `name`, and whether it is the current one.
    private func find(_ name: UnsafePointer<UInt8>) -> (Key, Bool)? {
        ring.withLock { keys in
            for (i, k) in keys.enumerated() where (0..<16).allSatisfy({ k.name[$0] == name[$0] }) {
                return (k, i == 0)
            }
            return nil
        }
    }

    /// The ticket cipher, fetched once: `EVP_aes_256_cbc()` makes OpenSSL 3 look
    /// the implementation up in its provider store (locks, a hash table) on every ticket.
    private static let ticketCipher: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-CBC", nil)

    /// OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb):
    /// 1 = key set, 2 = decrypted with an old key (issue a new ticket), 0 = unknown name (full handshake), -1 = error.
    func callback(name: UnsafeMutablePointer<UInt8>, iv: UnsafeMutablePointer<UInt8>, cipher: OpaquePointer,
                  mac: OpaquePointer, encrypt: Bool) -> Int32 {
        if encrypt {
            let k = current()
            guard RAND_bytes(iv, 16) == 1 else { return -1 }
            k.name.withUnsafeBufferPointer { name.update(from: $0.baseAddress!, count: 16) }
            guard EVP_EncryptInit_ex(cipher, Self.ticketCipher ?? EVP_aes_256_cbc(), nil, k.aes, iv) == 1 else { return -1 }
            var h = k.hmac
            return cap_ticket_mac_init(mac, &h, h.count) == 1 ? 1 : -1
        }
        guard let (k, isCurrent) = find(name) else { return 0 }
        var h = k.hmac
        guard cap_ticket_mac_init(mac, &h, h.count) == 1,
              EVP_DecryptInit_ex(cipher, Self.ticketCipher ?? EVP_aes_256_cbc(), nil, k.aes, iv) == 1 else { return -1 }
        return isCurrent ? 1 : 2
    }
}
