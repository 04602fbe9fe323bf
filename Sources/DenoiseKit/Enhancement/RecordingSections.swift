import Foundation

/// A long recording cleaned section by section, each section with the model fitted to it.
///
/// What `run` fits to a file (the atoms of the noise its pauses hold, its steady floor, its speech
/// level for the pause gate) is measured on a minute of it. A lecture, an interview or a field
/// recording rarely keeps one background that long: the fan goes off, the street comes in. A file
/// longer than `seconds` is split into equal sections of at most that length; each is fitted on its
/// own audio and cleaned with its own model, and neighbouring sections are cross-faded over
/// `crossfadeSeconds` around each join (a raised cosine; both are cleaned there), so the background
/// never steps from one model's residue to the next.
///
/// Chosen on long recordings strung together from the xrec pairs, their noise changing about every
/// minute (`scripts/make-long-set.py`, README "Long recordings whose noise changes"; the model
/// trained without their recordings): against one fit on the first minute, sections of at most
/// 60 / 30 / 15 s gave ΔSI-SDR +0.76 / +1.14 / +1.23 dB, ΔSTOI +0.006 / +0.006 / +0.007; on
/// recordings of one noise +0.06 / +0.15 / +0.39 dB. 30 s takes most of the gain, leaves every file
/// of up to 30 s (all of xrec and the real recordings) as it was, and costs 10 % more than 60 s.
public struct RecordingSections: Sendable, Equatable {
    /// Longest section: a recording up to this long is one section, fitted on its beginning as ever.
    public static let seconds = 30.0
    /// Each join is cross-faded over this long, centred on it.
    public static let crossfadeSeconds = 1.0
    /// Each section is cleaned this much beyond its cross-fades, so that its fades do not hold the
    /// start or end of its stream (the first frames' masks see no past context).
    static let marginSeconds = 0.25

    /// Section i owns frames edges[i] ..< edges[i + 1] (the last one everything from edges[count − 1]:
    /// a compressed file's declared length can be short by a little).
    public let edges: [Int]
    /// Frames of the cross-fades' half width and of the margins.
    let half: Int, margin: Int

    /// Sections are cleaned from a multiple of this many frames: where the model's STFT frames fall
    /// on the whole recording's, so that a join cleaned with one model is the whole file's cleaning.
    let grid: Int

    /// The sections of a recording of `frames` frames at `sampleRate`: ⌈frames / (seconds · rate)⌉
    /// equal ones (one for `seconds` = ∞), for a model at `modelRate` whose STFT hops by `hop`.
    public init(frames: Int, sampleRate: Int, seconds: Double = RecordingSections.seconds, modelRate: Int? = nil, hop: Int = 1) {
        // Frame n is at model sample n · modelRate / sampleRate: a multiple of the hop for n a multiple of this.
        let modelRate = modelRate ?? sampleRate
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        grid = hop * sampleRate / gcd(modelRate, hop * sampleRate)
        let longest = max(seconds * Double(sampleRate), 1)
        let count = max(Int((Double(frames) / longest).rounded(.up)), 1)
        edges = (0...count).map { Int((Double($0) * Double(frames) / Double(count)).rounded()) }
        half = min(Int(Self.crossfadeSeconds * Double(sampleRate)) / 2, Int(min(longest, 1e9)) / 4)
        margin = Int(Self.marginSeconds * Double(sampleRate))
    }

    public var count: Int { edges.count - 1 }

    /// Frames where section i's output counts (with a weight above 0): its own, and half a
    /// cross-fade into each neighbour.
    func support(_ i: Int) -> Range<Int> {
        (i == 0 ? 0 : edges[i] - half)..<(i == count - 1 ? Int.max : edges[i + 1] + half)
    }

    /// Frames section i is cleaned over: its support and the margins beside it.
    public func cleaned(_ i: Int) -> Range<Int> {
        let s = support(i)
        return max((s.lowerBound - margin) / grid * grid, 0)..<(s.upperBound == Int.max ? Int.max : s.upperBound + margin)
    }

    /// Weight of section i's output at `frame` (the weights of a frame sum to 1).
    func weight(_ i: Int, at frame: Int) -> Float {
        func rise(_ join: Int) -> Float {   // 0 before the fade around `join`, 1 after it
            let x = Double(frame - (join - half)) / Double(2 * half)
            return x <= 0 ? 0 : x >= 1 ? 1 : Float(0.5 - 0.5 * cos(Double.pi * x))
        }
        let up: Float = i == 0 ? 1 : rise(edges[i])
        let down: Float = i == count - 1 ? 1 : 1 - rise(edges[i + 1])
        return min(up, down)
    }
}

extension Denoiser {
    /// What fits a model to a part of a recording: given its mono signal at the model's rate (and
    /// whether that is all of the part to be cleaned), the model to clean it with and the
    /// activations already solved for its first frames (`fitBeginning`), if any.
    public typealias Fit = (_ signal: [Float], _ isWhole: Bool) throws(DenoiseError) -> (Denoiser, KnownActivations?)

    /// Cleans the file `input` into `output` (and the removed part into `removed`) with this model
    /// fitted to each of its sections (`RecordingSections`): `fit` is called once per section, on
    /// its first `fitSeconds` (of the model's rate, mono). A file of one section is cleaned as
    /// `cleanFile(_:to:removedTo:known:progress:)` with the fit of its beginning. Streaming: memory
    /// holds one section's fit signal and the frames of a cross-fade, whatever the length.
    @discardableResult
    public func cleanFile(_ input: String, to output: String, removedTo removed: String? = nil,
                          sections seconds: Double = RecordingSections.seconds, fitSeconds: Double, fit: Fit,
                          progress: ((Double) -> Void)? = nil) throws(DenoiseError) -> (CleaningReport, sections: Int) {
        let reader = try AudioFileReader(input), modelRate = sampleRate
        let plan = RecordingSections(frames: reader.frameCount, sampleRate: reader.sampleRate, seconds: seconds,
                                     modelRate: modelRate, hop: stft.configuration.hop)
        // A section is fitted on its own frames only (at most its first `fitSeconds`), never on its
        // neighbour's.
        func fitted(_ i: Int) throws(DenoiseError) -> (Denoiser, KnownActivations?) {
            let range = plan.cleaned(i), length = Double(min(range.upperBound, reader.frameCount) - range.lowerBound) / Double(reader.sampleRate)
            let signal = try Resampler.readMono(input, at: modelRate, from: range.lowerBound, seconds: min(fitSeconds, length)).signal
            return try fit(signal, length < fitSeconds)
        }
        if plan.count == 1 {
            let (denoiser, known) = try fitted(0)
            return (try denoiser.cleanFile(input, to: output, removedTo: removed, known: known, progress: progress), 1)
        }
        let channels = reader.channelCount, levels = CleaningLevels()
        var frames = 0
        try AudioFile.writeStreaming(to: [output] + (removed.map { [$0] } ?? []), sampleRate: reader.sampleRate, channels: channels,
                                     like: reader.format) { (sinks) throws(DenoiseError) in
            var join = SectionJoin(plan: plan, channels: channels, cleaned: sinks[0], removed: sinks.count > 1 ? sinks[1] : nil, levels: levels)
            var active: [(index: Int, pipeline: CleaningPipeline)] = []
            var next = 0
            let step = Denoiser.chunkFrames(sampleRate: reader.sampleRate, channels: channels, modelRate: modelRate)
            var chunk = [Float](repeating: 0, count: step * channels)
            while true {
                // A section starts here: fit it, and feed it from now on.
                while next < plan.count, plan.cleaned(next).lowerBound <= frames {
                    let (denoiser, known) = try fitted(next)
                    active.append((next, try CleaningPipeline(denoiser: denoiser, sampleRate: reader.sampleRate, channels: channels, known: known)))
                    next += 1
                }
                // Chunks end where a section starts or ends, so each lies inside or outside every section.
                var want = step
                if next < plan.count { want = min(want, plan.cleaned(next).lowerBound - frames) }
                for a in active where plan.cleaned(a.index).upperBound != Int.max { want = min(want, plan.cleaned(a.index).upperBound - frames) }
                let got = chunk.withUnsafeMutableBufferPointer { reader.read(into: $0.baseAddress!, frames: want) }
                if got == 0 { break }
                let part = chunk[..<(got * channels)]
                join.input(part)
                for a in active {
                    try join.add(a.index, part.withUnsafeBufferPointer { a.pipeline.process($0) })
                }
                frames += got
                for a in active where plan.cleaned(a.index).upperBound == frames { try join.add(a.index, a.pipeline.finish()) }
                active.removeAll { plan.cleaned($0.index).upperBound == frames }
                progress?(Double(frames) / Double(max(reader.frameCount, frames)))
            }
            for a in active { try join.add(a.index, a.pipeline.finish()) }
            try reader.checkComplete(framesRead: frames)
            try join.flush(upTo: frames)
        }
        return (CleaningReport(sampleRate: reader.sampleRate, channelCount: channels, frameCount: frames,
                               format: reader.format, repairs: reader.repairs, levelDropDB: levels.dropDB), plan.count)
    }
}

/// Sums the sections' cleaned outputs, each weighted by `RecordingSections.weight`, and writes each
/// frame once every section that counts there has delivered it (with the removed part, input −
/// output). Holds only the frames not yet complete: a cross-fade and a pipeline's latency.
struct SectionJoin {
    let plan: RecordingSections, channels: Int
    let cleaned: AudioSink, removed: AudioSink?, levels: CleaningLevels
    /// Frames written so far; `sum` and `pendingInput` hold frames written ..< written + their count.
    var written = 0
    var sum: [Float] = [], pendingInput: [Float] = []
    /// Per section, the frames of its stream delivered so far (its stream starts at `plan.cleaned(i)`).
    var delivered: [Int]

    init(plan: RecordingSections, channels: Int, cleaned: AudioSink, removed: AudioSink?, levels: CleaningLevels) {
        self.plan = plan
        self.channels = channels
        self.cleaned = cleaned
        self.removed = removed
        self.levels = levels
        delivered = (0..<plan.count).map { plan.cleaned($0).lowerBound }
    }

    /// The input's next frames, once each (for the removed part and the levels).
    mutating func input(_ x: ArraySlice<Float>) {
        levels.add(input: x)
        pendingInput += x
    }

    /// Section i's next cleaned frames.
    mutating func add(_ i: Int, _ y: [Float]) throws(DenoiseError) {
        let start = delivered[i], n = y.count / channels
        delivered[i] += n
        let needed = (delivered[i] - written) * channels
        if sum.count < needed { sum += [Float](repeating: 0, count: needed - sum.count) }
        let support = plan.support(i), first = max(start, support.lowerBound, written), end = min(start + n, support.upperBound)
        if first < end {
            for f in first..<end {
                let w = plan.weight(i, at: f), src = (f - start) * channels, dst = (f - written) * channels
                for c in 0..<channels { sum[dst + c] += w * y[src + c] }
            }
        }
        try flush(upTo: complete)
    }

    /// Frames before this have every contribution they will get.
    var complete: Int {
        var upTo = Int.max
        for i in 0..<plan.count {
            let support = plan.support(i)
            if delivered[i] < support.upperBound { upTo = min(upTo, max(support.lowerBound, delivered[i])) }
        }
        return upTo
    }

    /// Writes the frames before `end` (and at most those whose input has arrived).
    mutating func flush(upTo end: Int) throws(DenoiseError) {
        let n = min(end - written, pendingInput.count / channels, sum.count / channels)
        guard n > 0 else { return }
        let out = Array(sum[..<(n * channels)])
        try cleaned.write(out, channels: channels)
        levels.add(output: out)
        if let removed {
            var difference = out
            for k in difference.indices { difference[k] = pendingInput[k] - out[k] }
            try removed.write(difference, channels: channels)
        }
        sum.removeFirst(n * channels)
        pendingInput.removeFirst(n * channels)
        written += n
    }
}
