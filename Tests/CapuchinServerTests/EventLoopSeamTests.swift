import HTTPCore
import XCTest
@testable import CapuchinServer

final class EventLoopSeamTests: XCTestCase {
    func testTimersRunInDeadlineOrderAndOnlyWhenDue() {
        var q = TimerQueue()
        var ran: [Int] = []
        for (i, d) in [50, 10, 30, 20, 40].enumerated() {
            q.schedule(TimerHandle(deadline: UInt64(d)) { ran.append(i) })
        }
        XCTAssertEqual(q.nextDeadline, 10)
        TimerQueue.fire(q.takeDue(now: 25))
        XCTAssertEqual(ran, [1, 3])
        TimerQueue.fire(q.takeDue(now: 100))
        XCTAssertEqual(ran, [1, 3, 2, 4, 0])
        XCTAssertTrue(q.isEmpty)
    }

    func testCancelledTimerDoesNotRun() {
        var q = TimerQueue()
        var ran = false
        let t = TimerHandle(deadline: 5) { ran = true }
        q.schedule(t)
        XCTAssertTrue(t.isPending)
        t.cancel()
        XCTAssertFalse(t.isPending)
        TimerQueue.fire(q.takeDue(now: 10))
        XCTAssertFalse(ran)
        XCTAssertTrue(q.isEmpty)
    }

    func testStreamedHeadCarriesNoLengthOfItsOwn() {
        var h = HTTPHeaders()
        h.add("Transfer-Encoding", "chunked")
        var streamed: [UInt8] = [], whole: [UInt8] = []
        let r = Response(status: 200, headers: h)
        ResponseHeadWriter.write(r, into: &streamed, dateLine: DateLine(), keepAlive: true, http10: false, omitLength: true)
        ResponseHeadWriter.write(r, into: &whole, dateLine: DateLine(), keepAlive: true, http10: false)
        XCTAssertFalse(String(decoding: streamed, as: UTF8.self).contains("Content-Length"))
        XCTAssertTrue(String(decoding: whole, as: UTF8.self).contains("Content-Length: 0\r\n"))
    }

    func testDeferResponseNeedsAWorker() {
        let ctx = RequestContext(connection: ConnectionInfo(id: 1, workerID: 0, peerAddress: "127.0.0.1", peerPort: 1, localPort: 2),
                                 site: RuntimeSettings.standalone.sites.defaultSite, startNanos: 0)
        let request = HTTPRequest(method: "GET", target: "/", path: "/", query: nil, version: .http11, headers: HTTPHeaders(),
                                  framing: .none, keepAlive: true, host: nil)
        XCTAssertNil(ctx.deferResponse(request: request))
        XCTAssertNil(ctx.eventLoop)
    }
}
