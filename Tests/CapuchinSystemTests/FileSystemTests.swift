import CapuchinSystem
import Glibc
import XCTest

/// The path calls and typed descriptors, against a real temporary directory.
final class FileSystemTests: XCTestCase {
    private var base = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/capuchin-fs-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw SystemError(call: "mkdtemp", code: .current) }
        base = String(cString: p)
    }

    override func tearDown() {
        _ = system("rm -rf '\(base)'")
    }

    private func write(_ path: String, _ text: String, options: FileDescriptor.OpenOptions = .create) throws {
        let fd = try FileDescriptor.open(path, .writeOnly, options: options)
        defer { fd.close() }
        try fd.writeAll(Array(text.utf8))
    }

    private func read(_ path: String) throws -> String {
        String(decoding: try FileSystem.readFile(path), as: UTF8.self)
    }

    func testMakeDirectoriesCreatesEveryMissingLevelAndAcceptsExistingOnes() throws {
        let deep = base + "/a/b/c"
        try FileSystem.makeDirectories(deep)
        XCTAssertTrue(try statPath(deep).isDirectory)
        try FileSystem.makeDirectories(deep)          // all there: fine
        try FileSystem.makeDirectories(base + "/a/b/d") // only the last missing
        XCTAssertEqual(FileSystem.contentsOfDirectory(base + "/a/b").sorted(), ["c", "d"])
    }

    func testMakeDirectoriesThroughAFileNamesTheDirectoryThatFailed() throws {
        try write(base + "/file", "x")
        XCTAssertThrowsError(try FileSystem.makeDirectories(base + "/file/sub/deeper")) { error in
            let e = error as? SystemError
            XCTAssertEqual(e?.code, .notDirectory)
            XCTAssertTrue(e?.call.contains(base + "/file/sub") ?? false, "\(error)")
        }
    }

    func testExclusiveCreateRefusesAnExistingFileAndAppendAppends() throws {
        let path = base + "/log"
        try write(path, "one\n", options: .exclusiveCreate)
        XCTAssertThrowsError(try FileDescriptor.open(path, .writeOnly, options: .exclusiveCreate)) {
            XCTAssertEqual(($0 as? SystemError)?.code, .fileExists)
        }
        try write(path, "two\n", options: [.create, .append])
        XCTAssertEqual(try read(path), "one\ntwo\n")
        XCTAssertEqual(try statPath(path).size, 8)
    }

    func testReadingAMissingFileThrowsENOENTWithItsText() {
        XCTAssertThrowsError(try FileSystem.readFile(base + "/missing")) { error in
            let e = error as? SystemError
            XCTAssertEqual(e?.code, .noSuchFileOrDirectory)
            XCTAssertEqual(e?.code.description, "No such file or directory")
        }
    }

    func testRenameRemoveAndListing() throws {
        try write(base + "/a", "A")
        try FileSystem.rename(base + "/a", to: base + "/b")
        XCTAssertEqual(FileSystem.contentsOfDirectory(base), ["b"])
        XCTAssertEqual(try read(base + "/b"), "A")
        XCTAssertTrue(FileSystem.removeFile(base + "/b"))
        XCTAssertFalse(FileSystem.removeFile(base + "/b"), "a missing file is no error, and says so")
        XCTAssertEqual(FileSystem.contentsOfDirectory(base), [])
        XCTAssertEqual(FileSystem.contentsOfDirectory(base + "/nowhere"), [])
        try FileSystem.syncDirectory(base)
    }

    func testRealPathResolvesSymlinksAndDotDot() throws {
        try FileSystem.makeDirectories(base + "/x/y")
        XCTAssertEqual(symlink(base + "/x/y", base + "/link"), 0)
        let real = try FileSystem.realPath(base + "/link/../y/.")
        XCTAssertEqual(real, try FileSystem.realPath(base) + "/x/y")
        XCTAssertThrowsError(try FileSystem.realPath(base + "/none")) {
            XCTAssertEqual(($0 as? SystemError)?.code, .noSuchFileOrDirectory)
        }
    }

    func testAllocateReservesBlocks() throws {
        let path = base + "/reserved"
        let fd = try FileDescriptor.open(path, .readWrite, options: .create)
        defer { fd.close() }
        try fd.allocate(offset: 0, length: 32 << 10)
        XCTAssertEqual(try fd.identity().size, 32 << 10)
        XCTAssertGreaterThanOrEqual(FileSystem.allocatedBytes(path) ?? 0, 32 << 10)
    }

    func testASnapshotOfAFileShorterThanItsCountIsAConditionNotAnErrno() throws {
        try write(base + "/short", "abc")
        let fd = try FileDescriptor.open(base + "/short", .readOnly)
        defer { fd.close() }
        XCTAssertThrowsError(try MappedFile(snapshotOf: fd, count: 10)) { error in
            XCTAssertEqual(error as? ConditionFailure, ConditionFailure("pread", .fileShrank))
        }
        let copy = try MappedFile(snapshotOf: fd, count: 3)
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: copy.base, count: copy.count)), Array("abc".utf8))
    }

    func testHostNameIsTheKernels() throws {
        let name = try XCTUnwrap(FileSystem.hostName())
        XCTAssertFalse(name.isEmpty)
        XCTAssertFalse(name.contains("\0"))
    }
}
