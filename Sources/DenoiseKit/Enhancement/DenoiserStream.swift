import Foundation

extension Denoiser {
    /// One stream's working memory for blocks of up to `blockFrames` frames: the spectra
    /// [bins × (future + blockFrames)] and activations [rank × (past + future + blockFrames)], each
    /// starting with the frames carried over from the last block; the magnitudes, pooled bands and
    /// the two estimates [· × blockFrames]; the solver's and the FFT's scratch.
    final class BlockBuffers {
        let re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, activations: UnsafeMutablePointer<Float>
        let magnitude: UnsafeMutablePointer<Float>, speech: UnsafeMutablePointer<Float>, noise: UnsafeMutablePointer<Float>
        let pooled: UnsafeMutablePointer<Float>?
        /// Each masked frame's band energy before the mask, and its speech estimate's (the pause gate's).
        let gateInput: UnsafeMutablePointer<Float>, gateSpeech: UnsafeMutablePointer<Float>
        /// The masked frames' spectra before the mask (the speech guard's input); nil without a guard.
        let unmaskedRe: UnsafeMutablePointer<Float>?, unmaskedIm: UnsafeMutablePointer<Float>?
        let solver: ActivationSolver.Scratch
        let fft: STFT.Buffers
        private let all: [UnsafeMutablePointer<Float>]

        init(_ d: Denoiser) {
            let bins = d.stft.bins, block = d.options.blockFrames
            let zeros = UnsafeMutablePointer<Float>.zeroed
            re = zeros(bins * (block + d.context.future))
            im = zeros(bins * (block + d.context.future))
            activations = zeros(d.solver.rank * (block + d.context.past + d.context.future))
            magnitude = zeros(bins * block)
            speech = zeros(bins * block)
            noise = zeros(bins * block)
            pooled = d.bands.map { zeros($0.count * block) }
            gateInput = zeros(block)
            gateSpeech = zeros(block)
            unmaskedRe = d.speechGuard == nil ? nil : zeros(bins * block)
            unmaskedIm = d.speechGuard == nil ? nil : zeros(bins * block)
            solver = d.solver.makeScratch()
            fft = d.stft.makeBuffers()
            all = [re, im, activations, magnitude, speech, noise, gateInput, gateSpeech] + [pooled, unmaskedRe, unmaskedIm].compactMap { $0 }
        }

        deinit { for p in all { p.deallocate() } }
    }

    /// Analysis and H solve of frames `first ..< first + n`, then mask and synthesis of the frames
    /// `context.future` behind them, whose later context is now known. `x` holds the signal from
    /// sample `inputOrigin` on, `y` the output from sample `outputOrigin` on; `carry` holds the
    /// spectra and activations of the frames before `first` that later frames still need.
    /// With `known`, the block's activations are those (rank × n) instead of solved.
    func process(_ x: UnsafeBufferPointer<Float>, inputOrigin: Int, firstFrame first: Int, count n: Int,
                 into y: UnsafeMutableBufferPointer<Float>, outputOrigin: Int, carry: inout Carry, buffers b: BlockBuffers,
                 known: UnsafePointer<Float>? = nil) {
        let bins = stft.bins, rank = solver.rank
        let lag = context.future, history = context.past + context.future
        let (re, im, h) = (b.re, b.im, b.activations)
        carry.restore(re: re, im: im, h: h)
        let newRe = re + lag * bins, newIm = im + lag * bins, newH = h + history * rank
        if let known {
            stft.analyze(x, origin: inputOrigin, firstFrame: first, count: n, re: newRe, im: newIm, buffers: b.fft)
            newH.update(from: known, count: rank * n)
        } else {
            solver.analyzeAndSolve(x, origin: inputOrigin, firstFrame: first, count: n, stft: stft, exponent: exponent, bands: bands,
                                   re: newRe, im: newIm, v: b.magnitude, pooled: b.pooled, h: newH, fft: b.fft, scratch: b.solver)
        }
        pauseGate?.bandEnergy(re: re, im: im, rows: bins, frames: n, into: b.gateInput)
        if let ur = b.unmaskedRe, let ui = b.unmaskedIm {
            ur.update(from: re, count: bins * n)
            ui.update(from: im, count: bins * n)
        }
        speechEstimate.bases.storage.withUnsafeBufferPointer { pws in
        noiseEstimate.bases.storage.withUnsafeBufferPointer { pwn in
            // The mask's products are as large as the solve's with a wide context: split the columns
            // between the threads too.
            let parts = max(min(options.threads, n / 32), 1)
            let job = UnsafeSendable((ws: pws.baseAddress!, wn: pwn.baseAddress!, buffers: b))
            func inParts(_ work: @escaping @Sendable (Range<Int>) -> Void) {
                if parts > 1 {
                    BLAS.withThreads(1) { DispatchQueue.concurrentPerform(iterations: parts) { work((n * $0 / parts)..<(n * ($0 + 1) / parts)) } }
                } else {
                    work(0..<n)
                }
            }
            inParts { columns in
                let (ws, wn, b) = job.value
                self.estimate(columns: columns, speechBases: ws, noiseBases: wn, h: b.activations, s: b.speech, noise: b.noise)
            }
            // What follows the stream frame by frame (a tracked floor, a tracked gate level) runs in time order.
            if tracksSteadyNoise || pauseGate?.tracksReference == true {
                let gateBins = pauseGate?.bins
                for t in 0..<n {
                    let st = b.speech + t * bins
                    carry.steady?.add(speech: st, to: b.noise + t * bins)
                    if let gateBins { b.gateSpeech[t] = speechBandEnergy(st, bins: gateBins) }
                }
            }
            inParts { columns in
                let b = job.value.buffers
                self.mask(columns: columns, s: b.speech, noise: b.noise, re: b.re, im: b.im)
            }
        }}
        pauseGate?.apply(re: re, im: im, rows: bins, frames: n, input: b.gateInput, speech: b.gateSpeech, state: &carry.gate)
        if let speechGuard, let ur = b.unmaskedRe, let ui = b.unmaskedIm {
            speechGuard.apply(re: re, im: im, inRe: ur, inIm: ui, rows: bins, frames: n, state: &carry.guardState!)
        }
        stft.synthesize(re: re, im: im, firstFrame: first - lag, count: n, into: y, origin: outputOrigin, buffers: b.fft)
        carry.save(re: newRe + (n - lag) * bins, im: newIm + (n - lag) * bins, h: newH + (n - history) * rank)
    }

    /// The mask's estimates of spectra columns `columns` (frame first − future + j is column j):
    /// S = Σ_o A_o · H[speech rows](t + o) and N likewise, where activation column j + past + o
    /// holds frame t + o (leading dimension rank).
    private func estimate(columns: Range<Int>, speechBases: UnsafePointer<Float>, noiseBases: UnsafePointer<Float>,
                          h: UnsafePointer<Float>, s: UnsafeMutablePointer<Float>, noise nm: UnsafeMutablePointer<Float>) {
        let bins = stft.bins, rank = solver.rank, n = columns.count, j = columns.lowerBound
        guard n > 0 else { return }
        let s = s + j * bins, nm = nm + j * bins
        let sr = speechEstimate.rows, nr = noiseEstimate.rows
        for (block, offset) in context.offsets.enumerated() {
            let hb = h + (j + context.past + offset) * rank
            let accumulate: Float = block == 0 ? 0 : 1
            BLAS.gemm(m: bins, n: n, k: sr.count, a: speechBases + block * sr.count * bins, lda: bins, b: hb + sr.lowerBound,
                      ldb: rank, beta: accumulate, c: s, ldc: bins)
            BLAS.gemm(m: bins, n: n, k: nr.count, a: noiseBases + block * nr.count * bins, lda: bins, b: hb + nr.lowerBound,
                      ldb: rank, beta: accumulate, c: nm, ldc: bins)
        }
    }

    /// Builds and applies the mask of spectra columns `columns` from their estimates (with a measured
    /// steady floor added to the noise estimate here).
    private func mask(columns: Range<Int>, s: UnsafeMutablePointer<Float>, noise nm: UnsafeMutablePointer<Float>,
                      re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
        let bins = stft.bins, n = columns.count, j = columns.lowerBound
        guard n > 0 else { return }
        let s = s + j * bins, nm = nm + j * bins
        if let steadyNoise {
            steadyNoise.withUnsafeBufferPointer { floor in
                // The speech estimate up to the floor counts as noise as well (never more than S itself).
                for t in 0..<n { for f in 0..<bins { nm[t * bins + f] += min(s[t * bins + f], floor[f]) } }
            }
        }
        applyMask(speech: s, noise: nm, power: options.maskPower, exponent: options.gainExponent, floor: options.gainFloor, count: bins * n,
                  re: re + j * bins, im: im + j * bins)
    }

    /// A stream's frames from before its next block that the next block's masks still need: the
    /// last `future` spectra and the last `past + future` activations; the pause gate's state and a
    /// tracked steady floor's.
    struct Carry {
        var re: [Float], im: [Float], h: [Float]
        var gate = PauseGate.State()
        var steady: SteadyNoise.Tracker?
        var guardState: SpeechGuard.State?

        init(bins: Int, rank: Int, context: MaskContext, steady: SteadyNoise.Tracker? = nil, guarded: Bool = false) {
            self.steady = steady
            guardState = guarded ? SpeechGuard.State(bins: bins) : nil
            re = [Float](repeating: 0, count: bins * context.future)
            im = re
            h = [Float](repeating: 0, count: rank * (context.past + context.future))
        }

        func restore(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
            self.re.withUnsafeBufferPointer { re.update(from: $0.baseAddress!, count: $0.count) }
            self.im.withUnsafeBufferPointer { im.update(from: $0.baseAddress!, count: $0.count) }
            self.h.withUnsafeBufferPointer { h.update(from: $0.baseAddress!, count: $0.count) }
        }

        /// Copies the carried columns out: they end where the block's columns end.
        mutating func save(re: UnsafePointer<Float>, im: UnsafePointer<Float>, h: UnsafePointer<Float>) {
            self.re.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: re, count: $0.count) }
            self.im.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: im, count: $0.count) }
            self.h.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: h, count: $0.count) }
        }
    }

    func makeCarry() -> Carry {
        Carry(bins: stft.bins, rank: solver.rank, context: context,
              steady: tracksSteadyNoise ? SteadyNoise.Tracker(bins: stft.bins, frameRate: Double(sampleRate) / Double(stft.configuration.hop)) : nil,
              guarded: speechGuard != nil)
    }
}

/// One of the mask's two estimates: one [bins × rows.count] block of bases per context frame, oldest
/// first, each applied to the activation rows `rows` of its frame.
struct MaskEstimate {
    let bases: Matrix
    let rows: Range<Int>
}

/// One channel cleaned as its samples arrive (at the dictionaries' rate).
///
/// With W fixed, each frame's activations depend on that frame alone, so frames are solved as soon
/// as they are complete, in blocks of up to `blockFrames`, and the result does not depend on how
/// the input was chunked but for float rounding (the products' blocks split differently). A frame is masked once the mask's future context is solved too. A sample
/// is released once every frame covering it has been added, at most nFFT + future·hop samples
/// after it arrived. Memory holds about one window plus the largest push.
public final class DenoiserStream {
    private let denoiser: Denoiser
    private let hop: Int, pad: Int
    /// Signal samples from `inputOrigin` on.
    private var input: [Float] = []
    private var inputOrigin = 0
    /// Overlap-added output from `outputOrigin` on.
    private var output: [Float] = []
    private var outputOrigin = 0
    private var nextFrame = 0
    public private(set) var received = 0
    /// Frames solved but not yet masked: the mask's future context.
    private let lag: Int
    private var carry: Denoiser.Carry
    private let buffers: Denoiser.BlockBuffers
    /// Activations of the first frames already solved (`Denoiser.fitBeginning`), taken instead of solving them.
    private let known: KnownActivations?

    /// A stream with working memory of its own: streams of one denoiser may run at once.
    public convenience init(_ denoiser: Denoiser) { self.init(denoiser, scratch: Denoiser.BlockBuffers(denoiser)) }

    /// A stream whose block scratch is `scratch`, shared with other streams that run in turn (the
    /// channels of one pipeline: 256 channels need one block's memory, not 256). Its state (the
    /// samples and the frames carried between blocks) is its own.
    init(_ denoiser: Denoiser, scratch: Denoiser.BlockBuffers, known: KnownActivations? = nil) {
        self.denoiser = denoiser
        self.known = known.flatMap { $0.solve == denoiser.solve ? $0 : nil }
        hop = denoiser.configuration.hop
        pad = denoiser.configuration.leadingPadding
        lag = denoiser.context.future
        carry = denoiser.makeCarry()
        buffers = scratch
    }

    /// Adds samples; returns the cleaned samples this completes.
    public func push(_ samples: UnsafeBufferPointer<Float>) -> [Float] {
        input.appendRepaired(samples)
        received += samples.count
        // Frame t ends at sample (t + 1)·hop: frames 0 ..< received / hop are complete, and the ones
        // `lag` frames behind them are masked and added.
        return run(toFrame: received / hop, releaseTo: (received / hop - lag) * hop - pad)
    }

    /// Processes the last frames (zeros past the end, and `lag` more to complete the last masks'
    /// context) and returns the rest of the output.
    public func finish() -> [Float] {
        run(toFrame: denoiser.configuration.frameCount(samples: received) + lag, releaseTo: received)
    }

    private func run(toFrame end: Int, releaseTo released: Int) -> [Float] {
        if end > nextFrame {
            // Frame t writes samples up to (t + 1)·hop.
            let needed = end * hop - outputOrigin
            if output.count < needed { output.append(contentsOf: repeatElement(0, count: needed - output.count)) }
            let block = denoiser.options.blockFrames
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    while nextFrame < end {
                        var n = min(block, end - nextFrame)
                        if let known, nextFrame < known.frames {
                            n = min(n, known.frames - nextFrame)
                            known.h.storage.withUnsafeBufferPointer { h in
                                denoiser.process(x, inputOrigin: inputOrigin, firstFrame: nextFrame, count: n, into: y, outputOrigin: outputOrigin,
                                                 carry: &carry, buffers: buffers, known: h.baseAddress! + nextFrame * known.h.rows)
                            }
                        } else {
                            denoiser.process(x, inputOrigin: inputOrigin, firstFrame: nextFrame, count: n, into: y,
                                             outputOrigin: outputOrigin, carry: &carry, buffers: buffers)
                        }
                        nextFrame += n
                    }
                }
            }
            // The next frame starts at nextFrame·hop − pad; earlier input is no longer needed.
            let drop = min(max(nextFrame * hop - pad - inputOrigin, 0), input.count)
            input.removeFirst(drop)
            inputOrigin += drop
        }
        let count = min(max(released - outputOrigin, 0), output.count)
        let done = Array(output[..<count])
        output.removeFirst(count)
        outputOrigin += count
        return done
    }
}
