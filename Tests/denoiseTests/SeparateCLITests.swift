import DenoiseKit
import Foundation
import Testing

/// `denoise separate`, `denoise train --kind` and `train-discriminative --source` as a user runs them.
@Suite struct SeparateCLITests {
    /// Two outputs named after the input and the sources, each with the input's rate, channels
    /// (stereo, 22.05 kHz: resampled and with a band above the model's) and length, summing to it.
    @Test func separateWritesOneFilePerSourceThatSumToTheInput() throws {
        let s = try Scratch()
        defer { s.remove() }
        var rng = SeededGenerator(seed: 3)
        let frames = 22050 + 77
        let left = (0..<frames).map { i in 0.3 * Float(sin(Double(i) * 0.11)) + 0.05 * (2 * rng.nextUnitFloat() - 1) }
        let right = (0..<frames).map { i in 0.2 * Float(sin(Double(i) * 0.03)) + 0.1 * (2 * rng.nextUnitFloat() - 1) }
        let input = s.path("talk.flac")
        try AudioFile.write(AudioBuffer(sampleRate: 22050, channels: [left, right]), to: input)
        let out = s.path("parts")
        let r = try denoise(["separate", input, "-o", out, "--source", "voice=\(s.speech)", "--source", "rest=\(s.noise)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["talk.rest.wav", "talk.voice.wav"])
        let voice = try AudioFile.read(out + "/talk.voice.wav").0, rest = try AudioFile.read(out + "/talk.rest.wav").0
        let original = try AudioFile.read(input).0
        for part in [voice, rest] {
            #expect(part.sampleRate == 22050 && part.channels.count == 2 && part.frameCount == frames)
        }
        var worst: Float = 0
        for c in 0..<2 {
            for i in 0..<frames { worst = max(worst, abs(voice.channels[c][i] + rest.channels[c][i] - original.channels[c][i])) }
        }
        // The outputs are 16-bit like the input: rounding of two files.
        #expect(worst < 3e-4, "largest |Σ outputs − input| = \(worst)")
    }

    /// `train --kind` makes a dictionary of that kind; the shipped names stand for dictionaries.
    @Test func trainTakesAnyKindAndSeparateTakesShippedNames() throws {
        let s = try Scratch()
        defer { s.remove() }
        let dict = s.path("hum.safetensors")
        let r = try denoise(["train", s.input, "-o", dict, "--kind", "hum", "--rank", "3", "--iterations", "20", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try SpectralDictionary.load(dict).kind.rawValue == "hum")
        let inspect = try denoise(["inspect", dict])
        #expect(inspect.stdout.contains("kind: hum"))
        #expect(try denoise(["inspect", "speech"]).stdout.contains("kind: speech"))
        let out = s.path("parts")
        let separated = try denoise(["separate", s.input, "-o", out, "--source", "speech=speech", "--source", "hum=\(dict)",
                                     "--source", "fan=hair_dryer", "-v"])
        #expect(separated.status == 0, "\(separated.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["input.fan.wav", "input.hum.wav", "input.speech.wav"])
        #expect(separated.stderr.contains("the dictionaries' atoms"))
    }

    /// Separation bases trained for a set are used by `separate` for that set, and said to be unused
    /// for another.
    @Test func trainedSeparationBasesAreUsedForTheirSet() throws {
        let s = try Scratch()
        defer { s.remove() }
        let noise = s.path("noise.wav")
        var rng = SeededGenerator(seed: 5)
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: (0..<16000).map { _ in 0.1 * (2 * rng.nextUnitFloat() - 1) }), to: noise)
        let trained = s.path("set")
        let r = try denoise(["train-discriminative", "--source", "voice=\(s.speech)", "--source", "rest=\(s.noise)",
                             "--audio", "voice=\(s.input)", "--audio", "rest=\(noise)", "--mixtures", "4", "--seconds", "1",
                             "--iterations", "3", "-o", trained, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let voice = trained + "/voice.safetensors", rest = trained + "/rest.safetensors"
        #expect(try SpectralDictionary.load(voice).separationBases != nil)
        let used = try denoise(["separate", s.input, "-o", s.path("a"), "--source", "voice=\(voice)", "--source", "rest=\(rest)", "-v"])
        #expect(used.status == 0 && used.stderr.contains("trained separation bases"), "\(used.stderr)")
        let other = try denoise(["separate", s.input, "-o", s.path("b"), "--source", "voice=\(voice)", "--source", "rest=\(s.noise)"])
        #expect(other.status == 0)
        #expect(other.stderr.contains("warning: ") && other.stderr.contains("separation bases for another set of sources"), "\(other.stderr)")
        let power = try denoise(["separate", s.input, "-o", s.path("c"), "--source", "voice=\(voice)", "--source", "rest=\(rest)", "--mask-power", "2"])
        #expect(power.stderr.contains("trained with mask_power 1.0; this run uses 2.0"), "\(power.stderr)")
    }

    /// One source, duplicate names, bad names, dictionaries that disagree, a file as the folder,
    /// colliding outputs: each a one-line error, nothing written.
    @Test func badSeparationSetupsAreOneLineErrors() throws {
        let s = try Scratch()
        defer { s.remove() }
        let out = s.path("parts")
        func separate(_ extra: [String]) -> [String] { ["separate", s.input, "-o", out] + extra }
        try s.expectFailure(separate(["--source", "a=\(s.speech)"]), status: 64, prefix: "give at least two sources")
        try s.expectFailure(separate(["--source", "a=\(s.speech)", "--source", "a=\(s.noise)"]), status: 64, prefix: "source name 'a' is given twice")
        try s.expectFailure(separate(["--source", "a/b=\(s.speech)", "--source", "c=\(s.noise)"]), status: 64, prefix: "source name 'a/b' must be")
        try s.expectFailure(separate(["--source", "nodict", "--source", "c=\(s.noise)"]), status: 64)
        try s.expectFailure(separate(["--source", "a=\(s.speech)", "--source", "b=\(s.noise)", "--upper-band", "c"]), status: 64,
                            prefix: "--upper-band 'c' is not one of the sources")
        let faster = s.path("fast.safetensors")
        try Scratch.dictionary(.noise, rank: 2, seed: 3, sampleRate: 48000).write(to: faster)
        try s.expectFailure(separate(["--source", "a=\(s.speech)", "--source", "b=\(faster)"]), prefix: "dictionaries disagree on sample_rate")
        try s.expectFailure(separate(["--source", "a=\(s.speech)", "--source", "b=no-such-type"]), prefix: "'no-such-type' is neither")
        try s.expectFailure(["separate", s.input, "-o", s.existing, "--source", "a=\(s.speech)", "--source", "b=\(s.noise)"],
                            prefix: "cannot write '\(s.existing)': it is a file")
        try FileManager.default.createDirectory(atPath: s.path("x"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: s.input, toPath: s.path("x/input.wav"))
        try s.expectFailure(["separate", s.input, s.path("x/input.wav"), "-o", out, "--source", "a=\(s.speech)", "--source", "b=\(s.noise)"],
                            status: 64, prefix: "'\(s.input)' and '\(s.path("x/input.wav"))' would both be written")
        try s.expectFailure(["train", s.input, "-o", s.path("d.safetensors"), "--kind", "no kind"], status: 64, prefix: "kind 'no kind' must be")
        try s.expectFailure(["train-discriminative", "--source", "a=\(s.speech)", "--source", "b=\(s.noise)", "--audio", "a=\(s.input)", "-o", out],
                            status: 64, prefix: "source 'b' needs its recordings")
    }

    /// Real speech and a music recording (drums and bass) the music dictionary never heard, at 0 dB:
    /// both outputs are closer to their own clean source than the mixture is (+2.2 dB each when
    /// written; skipped without ../shared/corpus).
    @Test func realSpeechAndMusicBothImprove() throws {
        guard let corpus else {
            print("skipped: ../shared/corpus is absent")
            return
        }
        let s = try Scratch()
        defer { s.remove() }
        let music = corpus.appendingPathComponent("noise/train/music")
        let dict = s.path("music.safetensors")
        let recordings = ["LIBROSA-Karissa_Hobbs_-_Lets_Go_Fishin", "LIBROSA-Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of", "LIBROSA-Kevin_MacLeod_-_Vibe_Ace"]
        let train = try denoise(["train"] + recordings.map { music.appendingPathComponent($0 + ".flac").path }
                                + ["-o", dict, "--kind", "music", "--rank", "128", "--iterations", "60", "-q"])
        #expect(train.status == 0, "\(train.stderr)")
        let speech = try AudioFile.read(corpus.appendingPathComponent("speech/test/LS-1183_1183-124566-0000.flac").path).0.channels[0]
        let tune = try AudioFile.read(corpus.appendingPathComponent("noise/test/music/LIBROSA-admiralbob77_-_Choice_-_Drum-bass.flac").path).0.channels[0]
        // The tune looped to the speech's length, at the speech's level.
        let looped = speech.indices.map { tune[$0 % tune.count] }
        let power = { (x: [Float]) in x.reduce(0) { $0 + Double($1 * $1) } }
        let gain = Float((power(speech) / power(looped)).squareRoot())
        let clean = speech, other = looped.map { $0 * gain }
        let mix = s.path("mix.wav")
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: zip(clean, other).map { 0.5 * ($0 + $1) }), to: mix)
        let out = s.path("parts")
        let r = try denoise(["separate", mix, "-o", out, "--source", "speech=speech", "--source", "music=\(dict)"])
        #expect(r.status == 0, "\(r.stderr)")
        let mixed = try AudioFile.read(mix).0.channels[0]
        for (name, reference) in [("speech", clean), ("music", other)] {
            let estimate = try AudioFile.read("\(out)/mix.\(name).wav").0.channels[0]
            let before = siSDR(reference, mixed), after = siSDR(reference, estimate)
            #expect(after > before + 1, "\(name): SI-SDR \(before) dB in the mixture, \(after) dB separated")
        }
    }
}
