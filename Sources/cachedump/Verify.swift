import ArgumentParser
import CacheStore
import CapuchinSystem
import Foundation

/// Checks every entry against the filesystem, and the store's kept entry totals against its records.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every entry against its file (missing, or device/inode/size/mtime changed).",
        discussion: "Exit status: 0 all match, 1 some entry is stale, 2 a store error (an undecodable record, kept totals or a tag index that differ from the records).")
    @OptionGroup var store: StoreArguments

    /// Why an entry no longer matches its file, or nil when it does.
    static func problem(_ r: EntryRecord) -> String? {
        let id: FileIdentity
        do { id = try statPath(r.originPath) } catch let e as SystemError {
            return e.errno == ENOENT ? "missing" : "unreadable (\(e))"
        } catch { return "unreadable (\(error))" }
        if r.kind == .proxied { return id.size == Int(r.size) ? nil : "body size \(id.size), recorded \(r.size)" }
        var changed: [String] = []
        if id.device != r.device { changed.append("device") }
        if id.inode != r.inode { changed.append("inode") }
        if id.size != Int(r.size) { changed.append("size") }
        if id.mtimeNanos != r.mtimeNanos { changed.append("mtime") }
        return changed.isEmpty ? nil : "changed: " + changed.joined(separator: ", ")
    }

    func run() throws {
        let s = guarded { try store.openReadOnly() }
        var checked = 0, stale: [(String, String)] = [], corrupt: [String] = []
        guarded {
            try s.forEachEntry { result in
                checked += 1
                switch result {
                case .success(let r): if let p = Self.problem(r) { stale.append((r.key, p)) }
                case .failure(let e): corrupt.append("\(e)")
                }
                return true
            }
        }
        // Kept totals are what `stats()` and /api/stats report; nil: counted at the next open for writing.
        let (kept, counted) = guarded { try s.keptAndCountedTotals() }
        let totalsMatch = kept.map { $0 == counted } ?? true
        // The tag index is kept with the records: its pairs are the tags the records carry.
        let tagPairs = guarded { try s.tagPairsIndexedAndCarried() }
        let tagsMatch = tagPairs.indexed == tagPairs.carried
        if store.json {
            printJSON(["checked": checked, "stale": stale.map { ["key": $0.0, "problem": $0.1] }, "corrupt": corrupt,
                       "totals_kept": kept != nil, "totals_match": totalsMatch, "tags_match": tagsMatch])
        } else {
            for (k, p) in stale { print("STALE \(k): \(p)") }
            for c in corrupt { print("CORRUPT \(c)") }
            if let kept, !totalsMatch {
                print("TOTALS kept \(kept.entries) entries, \(kept.bytes) bytes; the records hold \(counted.entries) entries, \(counted.bytes) bytes")
            }
            if !tagsMatch {
                print("TAGS the tag index holds \(tagPairs.indexed) tag/entry pairs; the records carry \(tagPairs.carried)")
            }
            print("\(checked) entries checked, \(stale.count) stale, \(corrupt.count) corrupt")
        }
        if !corrupt.isEmpty || !totalsMatch || !tagsMatch { throw ExitCode(2) }
        if !stale.isEmpty { throw ExitCode(1) }
    }
}
