/// A path glob: `*` matches within one path segment, `**` across segments
/// (`**/` also matches no directory at all), `?` one character other than `/`.
/// A pattern without a leading `/` matches at any depth (`*.css` is `**/*.css`).
public struct GlobPattern: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    private let pattern: [UInt8]

    public init(_ text: String) {
        description = text
        pattern = Array((text.hasPrefix("/") ? text : "**/" + text).utf8)
    }

    /// Whether `path` (a decoded request path starting with `/`) matches.
    public func matches(_ path: String) -> Bool {
        let s = Array(path.utf8)
        let p = pattern
        // memo[pi * (s.count + 1) + si]: 0 unknown, 1 no, 2 yes. Keeps `**` linear-ish.
        var memo = [UInt8](repeating: 0, count: (p.count + 1) * (s.count + 1))
        func match(_ pi: Int, _ si: Int) -> Bool {
            let slot = pi * (s.count + 1) + si
            if memo[slot] != 0 { return memo[slot] == 2 }
            let r: Bool
            if pi == p.count {
                r = si == s.count
            } else if p[pi] == UInt8(ascii: "*") {
                if pi + 1 < p.count && p[pi + 1] == UInt8(ascii: "*") {
                    let next = pi + 2
                    // `**/` may match zero directories.
                    if next < p.count && p[next] == UInt8(ascii: "/") && match(next + 1, si) {
                        memo[slot] = 2
                        return true
                    }
                    var k = si
                    var found = false
                    while k <= s.count {
                        if match(next, k) { found = true; break }
                        k += 1
                    }
                    r = found
                } else {
                    var k = si
                    var found = false
                    while true {
                        if match(pi + 1, k) { found = true; break }
                        if k == s.count || s[k] == UInt8(ascii: "/") { break }
                        k += 1
                    }
                    r = found
                }
            } else if si < s.count && (p[pi] == s[si] || (p[pi] == UInt8(ascii: "?") && s[si] != UInt8(ascii: "/"))) {
                r = match(pi + 1, si + 1)
            } else {
                r = false
            }
            memo[slot] = r ? 2 : 1
            return r
        }
        return match(0, 0)
    }
}
