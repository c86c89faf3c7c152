import XCTest
@testable import HTTPCore

/// Runs the parser over a byte string; used by every parser test.
func parse(_ text: String, limits: ParserLimits = ParserLimits()) -> ParseResult {
    parse(Array(text.utf8), limits: limits)
}

func parse(_ bytes: [UInt8], limits: ParserLimits = ParserLimits()) -> ParseResult {
    bytes.withUnsafeBytes { RequestParser(limits: limits).parse($0) }
}

/// The status a parse ended with: 0 for incomplete, 200 for a complete head.
func status(_ result: ParseResult) -> Int {
    switch result {
    case .complete: return 200
    case .incomplete: return 0
    case .invalid(let e): return e.status
    }
}

func request(_ result: ParseResult, file: StaticString = #filePath, line: UInt = #line) -> (HTTPRequest, Int)? {
    if case .complete(let r, let consumed) = result { return (r, consumed) }
    XCTFail("expected a complete request, got \(result)", file: file, line: line)
    return nil
}
