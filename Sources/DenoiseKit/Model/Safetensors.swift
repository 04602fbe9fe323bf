import Foundation

/// The safetensors container (huggingface/safetensors): an 8-byte little-endian header length, a
/// JSON header (tensor entries and `__metadata__` strings, padded with spaces to 8-byte alignment),
/// then raw little-endian row-major data. Tensors here are non-negative finite matrices, in F32, in
/// F16 with a power-of-two scale per row (`NAME_scale`, see `Matrix.halfPrecision`), or in BF16
/// (read only: files of earlier versions). Every size and offset is checked before it is used.
struct Safetensors {
    let header: [String: Any]
    let metadata: [String: String]
    let path: String
    private let bytes: [UInt8], headerEnd: Int

    private func fail(_ reason: String) -> DenoiseError { .invalidDictionary(path: path, reason: reason) }

    /// Parses the header of a file's bytes; `path` only names the file in errors.
    init(_ data: Data, path: String) throws(DenoiseError) {
        func fail(_ reason: String) -> DenoiseError { .invalidDictionary(path: path, reason: reason) }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw fail("the file is too short to be a safetensors file (\(bytes.count) bytes)") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength >= 2, headerLength <= UInt64(bytes.count - 8) else {
            throw fail("the header length \(headerLength) does not fit a file of \(bytes.count) bytes (truncated or not safetensors)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let header = object as? [String: Any] else {
            throw fail("the header is not valid JSON")
        }
        guard let metadata = header["__metadata__"] as? [String: String] else { throw fail("no __metadata__ strings in the header") }
        (self.bytes, self.headerEnd, self.header, self.metadata, self.path) = (bytes, headerEnd, header, metadata, path)
    }

    func has(_ name: String) -> Bool { header[name] != nil }

    /// Where tensor `name`'s data lies, every field checked against the file.
    private func entry(_ name: String, rows expectedRows: Int?) throws(DenoiseError) -> (dtype: String, rows: Int, cols: Int, base: Int) {
        guard let tensor = header[name] as? [String: Any] else { throw fail("no tensor named '\(name)'") }
        guard let dtype = tensor["dtype"] as? String, ["F32", "F16", "BF16"].contains(dtype) else {
            throw fail("tensor \(name) has dtype \(tensor["dtype"].map { "\($0)" } ?? "missing"), expected F32, F16 or BF16")
        }
        let width = dtype == "F32" ? 4 : 2
        guard let shape = tensor["shape"] as? [Int], shape.count == 2, shape[0] >= 1, shape[1] >= 1 else {
            throw fail("tensor \(name) must have a 2-D shape [bins, rank]")
        }
        guard let offsets = tensor["data_offsets"] as? [Int], offsets.count == 2 else { throw fail("tensor \(name) has no data_offsets") }
        let (rows, cols) = (shape[0], shape[1])
        guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= Int.max - headerEnd else {
            throw fail("tensor \(name) has impossible data offsets \(offsets)")
        }
        guard headerEnd + offsets[1] <= bytes.count else {
            throw fail("tensor \(name)'s data ends at byte \(headerEnd + offsets[1]) but the file has \(bytes.count) bytes (truncated)")
        }
        guard rows <= 1 << 20, cols <= 1 << 20, offsets[1] - offsets[0] == rows * cols * width else {
            throw fail("tensor \(name) of shape [\(rows), \(cols)] does not match its data offsets \(offsets)")
        }
        if let expectedRows, rows != expectedRows {
            throw fail("tensor \(name) has \(rows) rows, expected \(expectedRows)")
        }
        return (dtype, rows, cols, headerEnd + offsets[0])
    }

    /// Reads tensor `name` as a non-negative finite [rows × cols] matrix.
    func matrix(_ name: String, rows expectedRows: Int? = nil) throws(DenoiseError) -> Matrix {
        let (dtype, rows, cols, base) = try entry(name, rows: expectedRows)
        let width = dtype == "F32" ? 4 : 2
        var m = Matrix(rows: rows, cols: cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let o = base + width * (r * cols + c)
                let low = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8
                // A bfloat16 (written before F16) is the high half of a float.
                let x = width == 4 ? Float(bitPattern: low | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
                    : dtype == "F16" ? Float(Float16(bitPattern: UInt16(low))) : Float(bitPattern: low << 16)
                guard x.isFinite, x >= 0 else { throw fail("\(name)[\(r), \(c)] = \(x) is not a finite non-negative number") }
                m[r, c] = x
            }
        }
        if dtype == "F16" {
            // Rows were divided by powers of two to use F16's range: multiplied back exactly.
            let scale = try matrix(name + "_scale", rows: rows)
            guard scale.cols == 1, scale.storage.allSatisfy({ $0 > 0 && $0.significand == 1 }) else {
                throw fail("tensor \(name)_scale must be one column of powers of two")
            }
            for c in 0..<cols { for r in 0..<rows { m[r, c] *= scale[r, 0] } }
        }
        return m
    }

    /// The bytes of a file holding `tensors` (F16 ones already scaled) and `metadata`.
    static func encode(metadata: [String: String], tensors: [(name: String, matrix: Matrix, half: Bool)]) -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for (name, m, half) in tensors {
            let size = m.count * (half ? 2 : 4)
            header[name] = ["dtype": half ? "F16" : "F32", "shape": [m.rows, m.cols], "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned, as safetensors writers do.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, m, half) in tensors {
            // Row-major [rows, cols] = our column-major storage transposed.
            let rowMajor = m.transposed().storage
            if half {
                rowMajor.map { Float16($0).bitPattern.littleEndian }.withUnsafeBytes { data.append(contentsOf: $0) }
            } else {
                rowMajor.map { $0.bitPattern.littleEndian }.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        return data
    }
}
