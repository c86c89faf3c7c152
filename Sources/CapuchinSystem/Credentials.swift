import CSystemShims
import Glibc

/// A user and group to run as, resolved from names (or numbers) in the password
/// and group databases, and the calls that change or inspect process and file
/// credentials. The privilege drop (CapuchinServer's `PrivilegeDrop`) is built on these.
public struct Credentials: Sendable, Equatable {
    public let uid: uid_t
    public let gid: gid_t
    public let userName: String
    /// The user's home directory (HOME after a drop), "/" when unknown.
    public let home: String

    /// Looks up `user` (a name or a number) and `group` (a name or number; nil:
    /// the user's primary group). Throws `CredentialError` naming what is missing.
    public static func lookup(user: String, group: String?) throws -> Credentials {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buf = [CChar](repeating: 0, count: 16384)
        var uid: uid_t
        var gid: gid_t
        var home = "/"
        var name = user
        if getpwnam_r(user, &pw, &buf, buf.count, &result) == 0, result != nil {
            uid = pw.pw_uid
            gid = pw.pw_gid
            home = String(cString: pw.pw_dir)
        } else if let n = UInt32(user) {
            uid = n
            gid = n
            if getpwuid_r(n, &pw, &buf, buf.count, &result) == 0, result != nil {
                gid = pw.pw_gid
                name = String(cString: pw.pw_name)
                home = String(cString: pw.pw_dir)
            }
        } else {
            throw CredentialError.noSuchUser(user)
        }
        if let group {
            var gr = Glibc.group()
            var gresult: UnsafeMutablePointer<Glibc.group>?
            if getgrnam_r(group, &gr, &buf, buf.count, &gresult) == 0, gresult != nil {
                gid = gr.gr_gid
            } else if let n = UInt32(group) {
                gid = n
            } else {
                throw CredentialError.noSuchGroup(group)
            }
        }
        return Credentials(uid: uid, gid: gid, userName: name, home: home)
    }

    public init(uid: uid_t, gid: gid_t, userName: String, home: String = "/") {
        self.uid = uid
        self.gid = gid
        self.userName = userName
        self.home = home
    }

    /// The effective user id of this process.
    public static var effectiveUID: uid_t { geteuid() }
    public static var realUID: uid_t { getuid() }
    public static var realGID: gid_t { getgid() }

    /// The name of a user id, or the number when it has none.
    public static func userName(of uid: uid_t) -> String {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buf = [CChar](repeating: 0, count: 16384)
        if getpwuid_r(uid, &pw, &buf, buf.count, &result) == 0, result != nil { return String(cString: pw.pw_name) }
        return String(uid)
    }

    /// Sets only the effective ids (glibc applies it to every thread), so the
    /// files created meanwhile belong to this user; `restoreRoot` undoes it.
    /// Throws `SystemError`.
    public func assumeEffectively() throws {
        _ = try blockingSyscall("setegid(\(gid))") { setegid(gid) }
        _ = try blockingSyscall("seteuid(\(uid))") { seteuid(uid) }
    }

    /// Back to effective root after `assumeEffectively` (the real ids stayed 0).
    public static func restoreRoot() throws {
        _ = try blockingSyscall("seteuid(0)") { seteuid(0) }
        _ = try blockingSyscall("setegid(0)") { setegid(0) }
    }

    /// The permanent drop, in the order that leaves nothing behind:
    /// supplementary groups, then the group, then the user (after setuid the
    /// process could no longer change its groups). Every thread follows (glibc).
    /// Throws `SystemError`; afterwards checks that root cannot be regained.
    public func dropPermanently() throws {
        var groups = [gid]
        _ = try blockingSyscall("setgroups([\(gid)])") { setgroups(1, &groups) }
        _ = try blockingSyscall("setgid(\(gid))") { setgid(gid) }
        _ = try blockingSyscall("setuid(\(uid))") { setuid(uid) }
        if uid != 0 && setuid(0) == 0 {
            throw SystemError(call: "setuid(0) after dropping to \(uid) succeeded", errno: EPERM)
        }
    }
}

/// A user or group name the databases do not know.
public enum CredentialError: Error, CustomStringConvertible, Equatable {
    case noSuchUser(String)
    case noSuchGroup(String)

    public var description: String {
        switch self {
        case .noSuchUser(let u): return "no such user '\(u)'"
        case .noSuchGroup(let g): return "no such group '\(g)'"
        }
    }
}
