import CapuchinTLS

/// Builds each TLS listener's certificates from the configuration: the
/// listener's own as the default, and every site's (`sites[].tls`) for its
/// names. At start a file that does not load, or a key that does not match its
/// certificate, is a `ConfigError` naming the file, line and key; on reload it
/// is logged and the certificate already in use for that listener or name is kept.
/// An `ocsp_file` that is not stapled (unreadable, not for the certificate,
/// expired) is an error at start; on reload it is logged and the new
/// certificate goes without a staple.
enum TLSCertificateLoader {
    /// One context per distinct (cert, key, OCSP file): sites sharing files share a context.
    private struct Cache {
        var contexts: [String: TLSContext] = [:]
        /// nil (start, check): an OCSP response that is not stapled is an error. A
        /// reload logs it and uses the new certificate without stapling.
        var log: ErrorLog?

        mutating func context(_ files: TLSFiles, config: ServerConfig) throws -> TLSContext {
            let id = files.certificate + "\u{0}" + files.key + "\u{0}" + (files.ocsp ?? "")
            if let c = contexts[id] { return c }
            let c: TLSContext
            do {
                c = try TLSContext(certificateFile: files.certificate, keyFile: files.key, ocspFile: files.ocsp)
            } catch let e as TLSError {
                throw ConfigError(file: config.file, line: config.line(of: files.configKey + ".cert") ?? config.line(of: files.configKey),
                                  key: files.configKey, message: e.message)
            }
            if let problem = c.ocspProblem {
                let key = files.configKey + ".ocsp_file"
                let error = ConfigError(file: config.file, line: config.line(of: key) ?? config.line(of: files.configKey), key: key,
                                        message: problem)
                guard let log else { throw error }
                log.error("reload: \(error); not stapling an OCSP response to \(files.certificate)")
            }
            contexts[id] = c
            return c
        }
    }

    /// The sets of every TLS listener, in `config.listeners` order (nil for a plain one).
    /// Throws `ConfigError` for the first certificate that fails.
    static func load(_ config: ServerConfig) throws -> [TLSSiteCertificates?] {
        var cache = Cache()
        let named = try siteContexts(config, &cache, log: nil, previous: nil)
        return try config.listeners.map { l in
            guard let files = l.tls else { return nil }
            return TLSSiteCertificates(defaultContext: try cache.context(files, config: config), named: named)
        }
    }

    /// Loads every certificate the configuration names and returns the error of
    /// each that fails (`capuchin check`), once per key.
    static func problems(_ config: ServerConfig) -> [ConfigError] {
        var cache = Cache()
        var errors: [ConfigError] = []
        for files in config.listeners.compactMap(\.tls) + config.sites.compactMap(\.tls) {
            do { _ = try cache.context(files, config: config) } catch let e as ConfigError {
                if !errors.contains(where: { $0.key == e.key }) { errors.append(e) }
            } catch {}
        }
        return errors
    }

    /// A reload: new sets for `stores` (the running TLS listeners, by configuration
    /// key), keeping what is in use wherever a new file fails (logged).
    static func reload(_ config: ServerConfig, stores: [String: TLSCertificateStore], log: ErrorLog) {
        var cache = Cache(log: log)
        for l in config.listeners {
            guard let store = stores[l.configKey] else { continue }
            let previous = store.certificates
            let named = (try? siteContexts(config, &cache, log: log, previous: previous)) ?? previous.named
            var defaultContext = previous.defaultContext
            if let files = l.tls {
                do { defaultContext = try cache.context(files, config: config) } catch {
                    log.error("reload: \(error); keeping the certificate in use (\(previous.defaultContext.certificateFile))")
                }
            }
            store.replace(with: TLSSiteCertificates(defaultContext: defaultContext, named: named))
        }
        if !stores.isEmpty { log.info("reload: TLS certificates re-read for \(stores.count) listener(s)") }
    }

    /// Site name to context. With `log`, a failing site keeps its previous context (or none).
    private static func siteContexts(_ config: ServerConfig, _ cache: inout Cache, log: ErrorLog?,
                                     previous: TLSSiteCertificates?) throws -> [String: TLSContext] {
        var named: [String: TLSContext] = [:]
        for site in config.sites {
            guard let files = site.tls else { continue }
            do {
                let c = try cache.context(files, config: config)
                for n in site.names { named[n] = c }
            } catch {
                guard let log else { throw error }
                log.error("reload: \(error); keeping the certificate in use for \(site.names.joined(separator: ", "))")
                for n in site.names { if let old = previous?.named[n] { named[n] = old } }
            }
        }
        return named
    }
}
