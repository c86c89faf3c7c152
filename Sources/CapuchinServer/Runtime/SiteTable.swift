import CapuchinSystem

/// Virtual hosts by Host: exact name first, then the longest matching
/// `*.suffix` wildcard, then the default site.
public final class SiteTable: Sendable {
    public let sites: [Site]
    public let defaultSite: Site
    private let exact: [String: Int]
    private let wildcards: [(suffix: String, index: Int)]

    /// `defaultIndex` is the site answering unknown hosts. Names are matched
    /// lowercased; a name "*.example.com" matches any subdomain of example.com.
    public init(sites: [Site], defaultIndex: Int) {
        precondition(!sites.isEmpty, "a site table needs at least one site")
        self.sites = sites
        defaultSite = sites[defaultIndex]
        var exact: [String: Int] = [:]
        var wild: [(String, Int)] = []
        for (i, s) in sites.enumerated() {
            for n in s.names {
                let name = n.lowercased()
                if name.hasPrefix("*.") { wild.append((String(name.dropFirst(1)), i)) }
                else if exact[name] == nil { exact[name] = i }
            }
        }
        self.exact = exact
        wildcards = wild.sorted { $0.0.utf8.count > $1.0.utf8.count }.map { (suffix: $0.0, index: $0.1) }
    }

    /// The site for a Host value (already lowercased, without port), or the default.
    public func select(host: String?) -> Site {
        guard let host, !host.isEmpty else { return defaultSite }
        if let i = exact[host] { return sites[i] }
        for w in wildcards where host.hasSuffix(w.suffix) && host.utf8.count > w.suffix.utf8.count {
            return sites[w.index]
        }
        return defaultSite
    }

    /// Opens every configured site's root. Throws `ConfigError` naming the site
    /// when a root is missing or not a directory, or when no site is configured.
    public static func open(_ configs: [SiteConfig], file: String) throws -> SiteTable {
        if configs.isEmpty {
            throw ConfigError(file: file, line: nil, key: "sites", message: "no site configured (add a `sites` entry or pass --root)")
        }
        var sites: [Site] = []
        for (i, c) in configs.enumerated() {
            let path: String
            do { path = try FileSystem.realPath(c.root) } catch let e as SystemError {
                throw ConfigError(file: file, line: nil, key: "sites[\(i)].root", message: "'\(c.root)': \(e.code)")
            }
            let handle: DirectoryHandle
            do { handle = try DirectoryHandle(path: path) } catch {
                throw ConfigError(file: file, line: nil, key: "sites[\(i)].root", message: "'\(c.root)' is not an openable directory: \(error)")
            }
            sites.append(Site(names: c.names, root: path, indexFiles: c.index, allowSymlinksOutsideRoot: c.allowSymlinks, rootHandle: handle,
                              accessLog: c.accessLog))
        }
        let def = configs.firstIndex(where: \.isDefault) ?? 0
        return SiteTable(sites: sites, defaultIndex: def)
    }
}
