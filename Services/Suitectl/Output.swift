import Foundation

/// Human output: aligned columns; `--json` prints the service's answer as it came.
enum Output {
    static func printJSON(_ value: Any) {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed]) else {
            print(value)
            return
        }
        print(String(decoding: data, as: UTF8.self))
    }

    static func table(_ headers: [String], _ rows: [[String]]) {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = min(max(widths[index], cell.count), 60) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let clipped = cell.count > 60 ? String(cell.prefix(57)) + "..." : cell
                return index == cells.count - 1 ? clipped : clipped.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        print(line(headers))
        for row in rows { print(line(row)) }
        if rows.isEmpty { print("(none)") }
    }

    /// Key: value lines for one object.
    static func fields(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        for (key, value) in pairs { print("\(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(value)") }
    }
}

/// Reading fields out of `JSONSerialization` results for tables.
extension Dictionary where Key == String, Value == Any {
    func text(_ key: String) -> String {
        switch self[key] {
        case let value as String: value
        case let value as NSNumber: value.stringValue
        case nil, is NSNull: "-"
        case let value?: "\(value)"
        }
    }
}
