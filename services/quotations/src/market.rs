//! Symbols: normalisation, validation and type inference (seed 001 "Observacoes": symbols are
//! upper-cased, currency pairs accept `USD-BRL` and persist as `USDBRL`, and without `type` the
//! type is inferred from the lists of `config/market-data.json`, seed 001's
//! `config/market-data.php`).

use serde::{Deserialize, Serialize};

/// The committed market-data file (the default when `QUOTATIONS_MARKET_DATA_FILE` is unset).
pub const DEFAULT_MARKET_DATA: &str = include_str!("../config/market-data.json");

/// An asset type (`stock|crypto|currency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssetType {
    /// A listed share (`AAPL`, `PETR4.SA`).
    Stock,
    /// A crypto asset, quoted in the configured currency (`BTC` → BTC/USD).
    Crypto,
    /// A currency pair (`USDBRL`) or a bare code quoted in the configured currency.
    Currency,
}

impl AssetType {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stock => "stock",
            Self::Crypto => "crypto",
            Self::Currency => "currency",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stock" => Some(Self::Stock),
            "crypto" => Some(Self::Crypto),
            "currency" => Some(Self::Currency),
            _ => None,
        }
    }
}

/// `quote_currency` of the market-data file.
#[derive(Debug, Clone, Deserialize)]
pub struct QuoteCurrency {
    /// Quote currency of a bare crypto symbol (`BTC` → `BTC`/this).
    pub crypto: String,
    /// Quote currency of a bare currency code (`USD` → `USD`/this).
    pub currency: String,
}

/// The market-data lists.
#[derive(Debug, Clone, Deserialize)]
pub struct MarketData {
    /// ISO 4217 codes the service knows.
    pub currencies: Vec<String>,
    /// Crypto asset codes.
    pub crypto: Vec<String>,
    /// Known stock symbols (others are still accepted as stocks when they look like one).
    pub stocks: Vec<String>,
    /// Quote currencies of bare codes.
    pub quote_currency: QuoteCurrency,
}

/// A validated symbol: what is persisted and shown, its type, and the pair a currency or
/// crypto quote is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Normalised symbol (`USDBRL`, `BTC`, `AAPL`).
    pub symbol: String,
    /// Its type (given or inferred).
    pub kind: AssetType,
    /// `(base, quote)` for crypto and currency (`("USD", "BRL")`); `None` for stocks.
    pub pair: Option<(String, String)>,
}

/// Why a symbol is refused (422 `invalid_symbol`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSymbol(pub String);

impl MarketData {
    /// Parses a market-data document.
    ///
    /// # Errors
    /// Not JSON of the expected shape.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    fn is_currency(&self, code: &str) -> bool {
        self.currencies.iter().any(|c| c == code)
    }

    fn is_crypto(&self, code: &str) -> bool {
        self.crypto.iter().any(|c| c == code)
    }

    /// Normalises, validates and types `raw` (the path segment), with `given` when the client
    /// named the type.
    ///
    /// # Errors
    /// [`InvalidSymbol`] with a message for the client.
    pub fn resolve(&self, raw: &str, given: Option<AssetType>) -> Result<Symbol, InvalidSymbol> {
        let upper = raw.trim().to_ascii_uppercase();
        let valid_chars = upper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '^' | '='));
        if upper.is_empty()
            || upper.len() > 20
            || !valid_chars
            || !upper.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '^')
        {
            return Err(InvalidSymbol(format!(
                "The symbol {raw:?} is not valid: 1 to 20 letters, digits, '.', '-', '^' or '='."
            )));
        }
        // A pair written `USD-BRL` (or `USDBRL`): two codes of the same family.
        let split = match upper.split_once('-') {
            Some((a, b)) => Some((a.to_owned(), b.to_owned())),
            None if upper.len() == 6 && upper.chars().all(|c| c.is_ascii_alphabetic()) => {
                Some((upper[..3].to_owned(), upper[3..].to_owned()))
            }
            None => None,
        };
        let pair_kind = split.as_ref().and_then(|(a, b)| {
            let currency = |c: &str| self.is_currency(c);
            let crypto = |c: &str| self.is_crypto(c);
            if currency(a) && currency(b) {
                Some(AssetType::Currency)
            } else if crypto(a) && (currency(b) || crypto(b)) {
                Some(AssetType::Crypto)
            } else {
                None
            }
        });
        let inferred = if let Some(kind) = pair_kind {
            kind
        } else if self.is_crypto(&upper) {
            AssetType::Crypto
        } else if self.is_currency(&upper) {
            AssetType::Currency
        } else {
            AssetType::Stock
        };
        let kind = given.unwrap_or(inferred);
        match kind {
            AssetType::Stock => {
                if upper.contains('-') && pair_kind.is_some() {
                    return Err(InvalidSymbol(format!("{upper} is a pair, not a stock.")));
                }
                Ok(Symbol {
                    symbol: upper,
                    kind,
                    pair: None,
                })
            }
            AssetType::Crypto | AssetType::Currency => {
                let (base, quote) = match (pair_kind, split) {
                    (Some(_), Some((a, b))) => (a, b),
                    _ => {
                        let quote = if kind == AssetType::Crypto {
                            &self.quote_currency.crypto
                        } else {
                            &self.quote_currency.currency
                        };
                        (upper.clone(), quote.clone())
                    }
                };
                let known = if kind == AssetType::Crypto {
                    self.is_crypto(&base)
                } else {
                    self.is_currency(&base)
                };
                if !known || base == quote {
                    return Err(InvalidSymbol(format!(
                        "{upper} is not a known {} symbol.",
                        kind.as_str()
                    )));
                }
                let symbol = if pair_kind.is_some() {
                    format!("{base}{quote}")
                } else {
                    upper
                };
                Ok(Symbol {
                    symbol,
                    kind,
                    pair: Some((base, quote)),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md() -> MarketData {
        MarketData::from_json(DEFAULT_MARKET_DATA).unwrap()
    }

    #[test]
    fn pairs_normalise_and_types_are_inferred() {
        let m = md();
        let usd = m.resolve("usd-brl", None).unwrap();
        assert_eq!(usd.symbol, "USDBRL");
        assert_eq!(usd.kind, AssetType::Currency);
        assert_eq!(usd.pair, Some(("USD".into(), "BRL".into())));
        assert_eq!(m.resolve("USDBRL", None).unwrap(), usd);
        let btc = m.resolve("btc", None).unwrap();
        assert_eq!((btc.symbol.as_str(), btc.kind), ("BTC", AssetType::Crypto));
        assert_eq!(btc.pair, Some(("BTC".into(), "USD".into())));
        assert_eq!(m.resolve("BTC-BRL", None).unwrap().symbol, "BTCBRL");
        let eur = m.resolve("EUR", None).unwrap();
        assert_eq!(eur.pair, Some(("EUR".into(), "BRL".into())));
        let petr = m.resolve("petr4.sa", None).unwrap();
        assert_eq!(
            (petr.symbol.as_str(), petr.kind),
            ("PETR4.SA", AssetType::Stock)
        );
        assert_eq!(m.resolve("ZZZZ", None).unwrap().kind, AssetType::Stock);
    }

    #[test]
    fn invalid_symbols_are_refused() {
        let m = md();
        for bad in [
            "",
            " ",
            "AB CD",
            "A$",
            "<script>",
            "ABCDEFGHIJKLMNOPQRSTU",
            "-BTC",
        ] {
            assert!(m.resolve(bad, None).is_err(), "{bad:?}");
        }
        assert!(m.resolve("AAPL", Some(AssetType::Crypto)).is_err());
        assert!(m.resolve("USD-BRL", Some(AssetType::Stock)).is_err());
        assert!(
            m.resolve("BRL", Some(AssetType::Currency)).is_err(),
            "BRL/BRL"
        );
    }
}
