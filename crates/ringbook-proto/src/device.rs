//! Device identity (PB-2): a random identifier the client generates once, plus the device number
//! (IMEI/MEID) and SIM identity (ICCID/IMSI) when the client knows them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    /// Random + timestamp, generated once by the client and kept in its store.
    pub device_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imei: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    /// Free text shown in session lists ("Pixel 8", "ringbook-cli on laptop").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("device_id must be 8 to 128 characters of letters, digits, '-', '_' or ':'")]
    BadDeviceId,
    #[error("{0} must be 1 to 32 digits")]
    BadDigits(&'static str),
    #[error("the device label must be at most 64 characters")]
    BadLabel,
}

impl DeviceIdentity {
    /// Checks the shape of every part so nothing unbounded reaches storage.
    pub fn validate(&self) -> Result<(), DeviceError> {
        let id_ok = (8..=128).contains(&self.device_id.len())
            && self
                .device_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'));
        if !id_ok {
            return Err(DeviceError::BadDeviceId);
        }
        for (name, value) in [("imei", &self.imei), ("iccid", &self.iccid), ("imsi", &self.imsi)] {
            if let Some(v) = value {
                // ICCIDs may end in a hex check character on some SIMs.
                let ok = (1..=32).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric());
                if !ok {
                    return Err(DeviceError::BadDigits(name));
                }
            }
        }
        if self.label.as_ref().is_some_and(|l| l.chars().count() > 64) {
            return Err(DeviceError::BadLabel);
        }
        Ok(())
    }

    /// The parts that together identify the device (PB-2: any combination). Two identities are
    /// the same device when their random IDs match and no hardware identifier given on both
    /// sides differs.
    pub fn same_device(&self, other: &DeviceIdentity) -> bool {
        fn agree(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
        }
        self.device_id == other.device_id
            && agree(&self.imei, &other.imei)
            && agree(&self.iccid, &other.iccid)
            && agree(&self.imsi, &other.imsi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str, imei: Option<&str>) -> DeviceIdentity {
        DeviceIdentity {
            device_id: id.into(),
            imei: imei.map(Into::into),
            iccid: None,
            imsi: None,
            label: None,
        }
    }

    #[test]
    fn same_device_rules() {
        assert!(dev("abcdefgh12", None).same_device(&dev("abcdefgh12", Some("1"))));
        assert!(!dev("abcdefgh12", Some("2")).same_device(&dev("abcdefgh12", Some("1"))));
        assert!(!dev("abcdefgh12", None).same_device(&dev("abcdefgh13", None)));
    }

    #[test]
    fn validation() {
        assert!(dev("short", None).validate().is_err());
        assert!(dev("abcdefgh12", Some("35-1")).validate().is_err());
        assert!(dev("abcdefgh12", Some("351234567890123")).validate().is_ok());
    }
}
