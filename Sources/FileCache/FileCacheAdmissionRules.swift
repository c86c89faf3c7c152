/// Why a file was not admitted.
public enum RuleRejection: String, Sendable, Equatable {
    case disabled, tooSmall = "too_small", tooLarge = "too_large", extensionNotIncluded = "extension_not_included",
         extensionExcluded = "extension_excluded", typeNotIncluded = "type_not_included",
         globNotIncluded = "glob_not_included", globExcluded = "glob_excluded", notRegular = "not_regular"
}

/// The admission rules of the `cache` section, applied to a request path, a
/// file size and a content type.
public struct FileCacheAdmissionRules: Sendable {
    public let config: FileCacheConfig
    private let includeExtensions: Set<String>
    private let excludeExtensions: Set<String>
    private let includeTypes: [String]

    public init(_ config: FileCacheConfig) {
        self.config = config
        includeExtensions = Set(config.includeExtensions.map(FileCacheConfig.normalizeExtension))
        excludeExtensions = Set(config.excludeExtensions.map(FileCacheConfig.normalizeExtension))
        includeTypes = config.includeTypes.map { $0.lowercased() }
    }

    /// nil when the file may be cached, else the first rule that refuses it.
    /// Globs match the request `path`; extensions the file actually served
    /// (`filePath`, e.g. ".../index.html" for "/docs/").
    public func check(path: String, filePath: String, size: Int, contentType: String) -> RuleRejection? {
        if !config.enabled { return .disabled }
        if size < config.minFileSize { return .tooSmall }
        if size > config.maxFileSize { return .tooLarge }
        // Only when a list asks: loading a million entries checks each one here.
        if !includeExtensions.isEmpty || !excludeExtensions.isEmpty {
            let ext = Self.fileExtension(of: filePath)
            if !includeExtensions.isEmpty && !includeExtensions.contains(ext) { return .extensionNotIncluded }
            if excludeExtensions.contains(ext) { return .extensionExcluded }
        }
        if !includeTypes.isEmpty {
            let type = contentType.lowercased()
            if !includeTypes.contains(where: { type.hasPrefix($0) }) { return .typeNotIncluded }
        }
        if !config.includeGlobs.isEmpty && !config.includeGlobs.contains(where: { $0.matches(path) }) { return .globNotIncluded }
        if config.excludeGlobs.contains(where: { $0.matches(path) }) { return .globExcluded }
        return nil
    }

    /// The lowercased extension of the last path segment ("" when none).
    static func fileExtension(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }
}
