// libFuzzer entry point; Tools/fuzz/run.sh compiles it with Sources/HTTPCore/*.swift.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPCore(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
