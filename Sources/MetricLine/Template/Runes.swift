extension Template {
    /// Go's unicode tests as text/template's lexer and strconv use them.
    enum Runes {
        static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.isASCII { return (scalar.value | 0x20) >= 0x61 && (scalar.value | 0x20) <= 0x7A }
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }

        static func isMark(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: return true
            default: return false
            }
        }

        static func isAlphaNumeric(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.isASCII { return scalar == "_" || (scalar.value >= 0x30 && scalar.value <= 0x39) || isLetter(scalar) }
            return isLetter(scalar) || scalar.properties.generalCategory == .decimalNumber
        }

        /// strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
        static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.isASCII { return scalar.value >= 0x20 && scalar.value < 0x7F }
            switch scalar.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned, .spaceSeparator, .lineSeparator, .paragraphSeparator: return false
            default: return true
            }
        }

        /// `%#U`: `U+0041 'A'`, or just `U+00A0` when not printable.
        static func describe(_ scalar: Unicode.Scalar) -> String {
            let code = "U+" + GoText.zeroPadded(String(scalar.value, radix: 16, uppercase: true), 4)
            return isPrint(scalar) ? code + " '" + String(Character(scalar)) + "'" : code
        }
    }
}
