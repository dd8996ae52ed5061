//! Tests of the simulated UICC: every command with its success and error status words, both classes.

use m2msim_codec::sim::{EfIccid, EfImsi};
use m2msim_codec::tlv::ber::{BerTlv, Tag};

use super::profile::CardProfile;
use super::*;
use crate::milenage::Sqn;

fn h(s: &str) -> Vec<u8> {
    m2msim_codec::hexser::parse_hex(s).unwrap()
}

fn card() -> Uicc {
    Uicc::from_profile(&CardProfile::example().unwrap()).unwrap()
}

/// Sends `apdu` (hex) and returns (data, SW).
fn tx(c: &mut Uicc, apdu: &str) -> (Vec<u8>, u16) {
    let r = c.handle_apdu(&h(apdu));
    let (d, sw) = r.split_at(r.len() - 2);
    (d.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

/// Sends `apdu` and checks the SW.
#[track_caller]
fn sw(c: &mut Uicc, apdu: &str, expected: u16) -> Vec<u8> {
    let (d, s) = tx(c, apdu);
    assert_eq!(s, expected, "{apdu}: got {s:04X}, expected {expected:04X}");
    d
}

const USIM_AID: &str = "A0000000871002FF49FF0589";
const PIN1: &str = "31323334FFFFFFFF";
const ADM1: &str = "3838383838383838";

fn select_usim(c: &mut Uicc) {
    sw(c, &format!("00A4040C0C{USIM_AID}"), 0x9000);
}

#[test]
fn example_profile_contents() {
    let c = card();
    assert_eq!(c.atr(), DEFAULT_ATR);
    let mf = c.fs().mf();
    let Some(fs::EfBody::Transparent(iccid)) = c.fs().ef_at(mf, &[0x2FE2]) else { panic!() };
    assert_eq!(EfIccid::decode_exact(iccid).unwrap().iccid.as_str(), "8988211000000000011");
    let usim = c.fs().adf_by_label("USIM").unwrap();
    let Some(fs::EfBody::Transparent(imsi)) = c.fs().ef_at(usim, &[0x6F07]) else { panic!() };
    assert_eq!(EfImsi::decode_exact(imsi).unwrap().imsi.as_str(), "001010123456789");
    assert_eq!(c.keysets().len(), 2);
    assert_eq!(c.tars().len(), 6);
    assert!(c.subscriber().is_some());
    // The default ATR's check byte: the XOR of T0..TCK is 0.
    assert_eq!(DEFAULT_ATR[1..].iter().fold(0, |a, b| a ^ b), 0);
}

#[test]
fn select_and_get_response_in_the_uicc_class() {
    let mut c = card();
    // T=0 case 3: the FCP waits behind 61xx.
    let (_, s) = tx(&mut c, "00A40004023F00");
    assert_eq!(s >> 8, 0x61);
    let n = s & 0xFF;
    // Too large an Le: 6Cxx with the exact length, the data still there.
    sw(&mut c, &format!("00C00000{:02X}", n + 1), 0x6C00 | n);
    // A smaller Le: the first bytes and 61xx for the rest.
    let first = sw(&mut c, "00C0000004", 0x6100 | (n - 4));
    let rest = sw(&mut c, &format!("00C00000{:02X}", n - 4), 0x9000);
    let fcp = [first, rest].concat();
    let t = BerTlv::decode_exact(&fcp).unwrap();
    assert_eq!(t.tag, Tag::one(0x62));
    assert_eq!(t.find(Tag::one(0x83)).and_then(BerTlv::primitive_value), Some(&[0x3F, 0x00][..]));
    // Nothing left, and another command drops data waiting.
    sw(&mut c, "00C0000000", 0x6985);
    tx(&mut c, "00A40004023F00");
    sw(&mut c, "00A4000C023F00", 0x9000);
    sw(&mut c, "00C0000000", 0x6985);
    // With an Le (case 4) the FCP comes at once; Le 00 means "all of it".
    let direct = sw(&mut c, "00A40004023F0000", 0x9000);
    assert_eq!(direct, fcp);
    // GET RESPONSE with P1/P2 other than 00.
    tx(&mut c, "00A40004023F00");
    sw(&mut c, "00C0010000", 0x6A86);
}

#[test]
fn select_variants_and_errors() {
    let mut c = card();
    sw(&mut c, "00A4000C022FE2", 0x9000);
    sw(&mut c, "00A4000C026F07", 0x6A82); // not under the MF
    sw(&mut c, "00A4080C047FFF6F07", 0x6A82); // no ADF active yet
    sw(&mut c, "00A4000C027FFF", 0x6A82);
    // By AID, right-truncated.
    sw(&mut c, "00A4040C07A0000000871002", 0x9000);
    sw(&mut c, "00A4080C047FFF6F07", 0x9000);
    sw(&mut c, "00A4000C026FAD", 0x9000); // sibling EF through the current DF
    sw(&mut c, "00A4080C047F206F07", 0x9000); // path from the MF into DF_GSM
    sw(&mut c, "00A4030C", 0x9000); // parent of DF_GSM: the MF
    sw(&mut c, "00A4090C047F206F7E", 0x9000); // path from the current DF (the MF)
    sw(&mut c, "00A4000C023F00", 0x9000);
    sw(&mut c, "00A4010C027F20", 0x9000); // child DF
    sw(&mut c, "00A4020C026F07", 0x9000); // child EF
    sw(&mut c, "00A4010C026FAD", 0x6A82); // an EF is not a DF
    sw(&mut c, "00A4000C00", 0x9000); // no data: the MF
    // By AID: an unknown one, too short to name a RID.
    sw(&mut c, "00A4040C05A000000099", 0x6A82);
    sw(&mut c, "00A4040C04A0000000", 0x6A82);
    // Errors.
    sw(&mut c, "00A40000023F00", 0x6A86); // P2 00 is not a UICC P2
    sw(&mut c, "00A4050C023F00", 0x6A86);
    sw(&mut c, "00A4000C033F0000", 0x6700);
    sw(&mut c, "00A4080C033F0000", 0x6700);
    sw(&mut c, "00A4030C023F00", 0x6700);
}

#[test]
fn select_and_get_response_in_the_2g_class() {
    let mut c = card();
    let (_, s) = tx(&mut c, "A0A40000023F00");
    assert_eq!(s, 0x9F16);
    let mf = sw(&mut c, "A0C0000016", 0x9000);
    assert_eq!(&mf[4..7], &[0x3F, 0x00, 0x01]);
    sw(&mut c, "A0A40000027F20", 0x9F16);
    // Wrong Le in the 2G class: 67xx; a shorter Le truncates.
    sw(&mut c, "A0C0000020", 0x6716);
    let short = sw(&mut c, "A0C0000008", 0x9000);
    assert_eq!(short.len(), 8);
    sw(&mut c, "A0A40000026F07", 0x9F0F);
    let ef = sw(&mut c, "A0C000000F", 0x9000);
    assert_eq!(hex::encode_upper(&ef), "000000096F0704001AF0AA01020000");
    sw(&mut c, "A0B0000009", 0x9804); // CHV1 not verified
    sw(&mut c, &format!("A020000108{PIN1}"), 0x9000);
    let imsi = sw(&mut c, "A0B0000009", 0x9000);
    assert_eq!(hex::encode(imsi), "080910101032547698");
    sw(&mut c, "A0B0000A01", 0x9402); // offset beyond the file
    sw(&mut c, "A0A40000026F99", 0x9404);
    sw(&mut c, "A0A40100023F00", 0x6B00);
    sw(&mut c, "A0A40000033F0000", 0x6700);
    sw(&mut c, "A0D6000001FF", 0x9804); // ADM needed
    sw(&mut c, "A0F2000016", 0x9000); // STATUS of DF_GSM
    sw(&mut c, "A0C0000000", 0x6F00); // nothing waiting
}

#[test]
fn read_and_update_binary() {
    let mut c = card();
    select_usim(&mut c);
    sw(&mut c, "00B0000009", 0x6986); // no EF selected
    sw(&mut c, "00B0870009", 0x6982); // EF_IMSI by SFI 7: PIN1 needed
    sw(&mut c, &format!("0020000108{PIN1}"), 0x9000);
    let imsi = sw(&mut c, "00B0870009", 0x9000);
    assert_eq!(hex::encode(&imsi), "080910101032547698");
    // EF_IMSI is now current: offsets, Le 00, a short read, past the end.
    assert_eq!(sw(&mut c, "00B0000304", 0x9000), h("10103254"));
    assert_eq!(sw(&mut c, "00B0000500", 0x9000), h("32547698"));
    assert_eq!(sw(&mut c, "00B000050A", 0x6282), h("32547698"));
    sw(&mut c, "00B0000901", 0x6B00);
    sw(&mut c, "00B0800009", 0x6A86); // SFI 0
    sw(&mut c, "00B0850009", 0x6A82); // no EF with SFI 5
    // UPDATE BINARY needs ADM1.
    sw(&mut c, "00D6000001FF", 0x6982);
    sw(&mut c, &format!("002000 0A08{ADM1}"), 0x9000);
    sw(&mut c, "00D600080199", 0x9000);
    assert_eq!(sw(&mut c, "00B0000801", 0x9000), h("99"));
    sw(&mut c, "00D6000802AAAA", 0x6700); // past the end
    sw(&mut c, "00D6000901AA", 0x6B00); // offset beyond
    sw(&mut c, "00D60000", 0x6700); // no data
    // READ BINARY on a linear-fixed EF and on a DF.
    sw(&mut c, "00A4080C022F00", 0x9000);
    sw(&mut c, "00B0000001", 0x6981);
    sw(&mut c, "00A4000C027F20", 0x9000);
    sw(&mut c, "00B0000001", 0x6986);
    // NEVER is never met, not even with ADM1.
    sw(&mut c, "00A4080C022FE2", 0x9000);
    sw(&mut c, "00D6000001FF", 0x6982);
}

#[test]
fn read_and_update_record() {
    let mut c = card();
    sw(&mut c, "00A4000C022F00", 0x9000);
    let r1 = sw(&mut c, "00B2010420", 0x9000);
    assert_eq!(&r1[..4], &h("61144F0C"));
    assert_eq!(sw(&mut c, "00B2010400", 0x9000), r1);
    sw(&mut c, "00B2010410", 0x6C20);
    sw(&mut c, "00B2030400", 0x6A83);
    sw(&mut c, "00B2000400", 0x6A83); // no current record yet
    // Next / previous move the pointer; absolute does not.
    assert_eq!(sw(&mut c, "00B2000200", 0x9000), r1);
    let r2 = sw(&mut c, "00B2000200", 0x9000);
    assert_eq!(r2, vec![0xFF; 32]);
    sw(&mut c, "00B2000200", 0x6A83);
    assert_eq!(sw(&mut c, "00B2000400", 0x9000), r2); // current record
    assert_eq!(sw(&mut c, "00B2000300", 0x9000), r1);
    sw(&mut c, "00B2000300", 0x6A83);
    sw(&mut c, "00B2010500", 0x6A86); // mode 05
    // By SFI 30 from the MF.
    sw(&mut c, "00A4000C023F00", 0x9000);
    assert_eq!(sw(&mut c, "00B201F400", 0x9000), r1);
    sw(&mut c, "00B201FC00", 0x6A86); // SFI 31
    // UPDATE RECORD.
    sw(&mut c, &format!("0020000A08{ADM1}"), 0x9000);
    let rec = "AA".repeat(32);
    sw(&mut c, &format!("00DC020420{rec}"), 0x9000);
    assert_eq!(sw(&mut c, "00B2020400", 0x9000), vec![0xAA; 32]);
    sw(&mut c, "00DC020410AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0x6700);
    sw(&mut c, &format!("00DC030420{rec}"), 0x6A83);
    sw(&mut c, &format!("00DC000320{rec}"), 0x9000); // previous from none: the last record
    // Record commands on a transparent EF.
    sw(&mut c, "00A4000C022FE2", 0x9000);
    sw(&mut c, "00B2010400", 0x6981);
    // 2G READ RECORD.
    sw(&mut c, "A0A40000022F00", 0x9F0F);
    assert_eq!(sw(&mut c, "A0B2010420", 0x9000), r1);
    sw(&mut c, "A0B2010410", 0x6720);
    sw(&mut c, "A0B2090420", 0x9402);
}

#[test]
fn status_command() {
    let mut c = card();
    let fcp = sw(&mut c, "80F2000000", 0x9000);
    assert_eq!(
        BerTlv::decode_exact(&fcp).unwrap().find(Tag::one(0x83)).unwrap().primitive_value(),
        Some(&[0x3F, 0x00][..])
    );
    sw(&mut c, "80F2000100", 0x6A82); // no application active
    select_usim(&mut c);
    let aid = sw(&mut c, "80F2000100", 0x9000);
    assert_eq!(aid, h(&format!("840C{USIM_AID}")));
    sw(&mut c, "80F2000C", 0x9000);
    sw(&mut c, "80F2000200", 0x6A86);
    sw(&mut c, "80F2030000", 0x6A86);
    // STATUS from the ADF: its FCP; too large an Le gets 6Cxx.
    let adf_fcp = sw(&mut c, "80F2000000", 0x9000);
    sw(&mut c, "80F20000FF", 0x6C00 | adf_fcp.len() as u16);
}

#[test]
fn class_and_instruction_errors() {
    let mut c = card();
    sw(&mut c, "00F2000000", 0x6E00); // STATUS is an 80 command
    sw(&mut c, "80A40004023F00", 0x6E00); // SELECT is a 00 command
    sw(&mut c, "00FE0000", 0x6D00);
    sw(&mut c, "A0FE0000", 0x6D00);
    sw(&mut c, "01A4000C023F00", 0x6881); // logical channel 1
    sw(&mut c, "41A4000C023F00", 0x6881);
    sw(&mut c, "04A4000C023F00", 0x6882); // secure messaging
    sw(&mut c, "30A4000C023F00", 0x6E00);
    sw(&mut c, "B0A4000C023F00", 0x6E00);
    sw(&mut c, "00A4", 0x6700); // not an APDU
    sw(&mut c, "00A4000C053F00", 0x6700); // Lc beyond the data
    c.power_off();
    sw(&mut c, "00A4000C023F00", 0x6F00);
    assert_eq!(c.power_on(), DEFAULT_ATR);
    sw(&mut c, "00A4000C023F00", 0x9000);
}

#[test]
fn pin_retries_blocking_and_unblock() {
    let mut c = card();
    sw(&mut c, "0020000100", 0x63C3); // case 1 (T=0 P3 00): retries left
    sw(&mut c, "00200001", 0x63C3);
    sw(&mut c, "002000010830303030FFFFFFFF", 0x63C2);
    sw(&mut c, "002000010830303030FFFFFFFF", 0x63C1);
    sw(&mut c, &format!("0020000108{PIN1}"), 0x9000); // the counter resets
    sw(&mut c, "00200001", 0x9000); // verified
    for left in [2, 1, 0] {
        sw(&mut c, "002000010830303030FFFFFFFF", 0x63C0 | left);
    }
    sw(&mut c, &format!("0020000108{PIN1}"), 0x6983); // blocked, even with the right PIN
    sw(&mut c, "00200001", 0x6983);
    assert!(!c.pins().pin1_verified);
    select_usim(&mut c);
    sw(&mut c, "00B0870009", 0x6982);
    // Wrong PUK, then the right one with a new PIN.
    sw(&mut c, "002C00011030303030303030303535353535FFFFFF", 0x63C9);
    sw(&mut c, "002C0001", 0x63C9);
    sw(&mut c, "002C00011031323334353637383535353535FFFFFF", 0x9000);
    sw(&mut c, "00B0870009", 0x9000);
    c.reset();
    sw(&mut c, &format!("0020000108{PIN1}"), 0x63C2); // the old PIN is gone
    sw(&mut c, "00200001083535353535FFFFFF", 0x9000);
    // Errors: unknown key reference, wrong length, P1.
    sw(&mut c, &format!("0020000208{PIN1}"), 0x6A88);
    sw(&mut c, "002000010431323334", 0x6700);
    sw(&mut c, &format!("0020010108{PIN1}"), 0x6A86);
    sw(&mut c, "002C000210", 0x6A88);
    sw(&mut c, "002C00010831323334FFFFFFFF", 0x6700);
}

#[test]
fn chv_in_the_2g_class() {
    let mut c = card();
    sw(&mut c, "A020000108 30303030FFFFFFFF", 0x9804);
    sw(&mut c, "A020000108 30303030FFFFFFFF", 0x9804);
    sw(&mut c, "A020000108 30303030FFFFFFFF", 0x9840);
    sw(&mut c, &format!("A020000108{PIN1}"), 0x9840);
    // UNBLOCK CHV1 (P2 00).
    sw(&mut c, "A02C000010 31323334353637383132333435FFFFFF", 0x9000);
    sw(&mut c, "A0A40000027F20", 0x9F16);
    let st = sw(&mut c, "A0C0000016", 0x9000);
    assert_eq!(st[18], 0x83, "CHV1 initialised, 3 attempts left");
    sw(&mut c, &format!("A020000008{PIN1}"), 0x6B00);
}

fn auth_apdu(rand: &[u8; 16], autn: &[u8; 16]) -> String {
    format!("008800812210{}10{}", hex::encode(rand), hex::encode(autn))
}

#[test]
fn authenticate_success_sync_failure_mac_failure() {
    let mut c = card();
    let rand = [0x23; 16];
    let av = c.subscriber().unwrap().milenage().generate_av(&rand, Sqn::new(0x20).unwrap(), [0x80, 0]);
    sw(&mut c, &auth_apdu(&rand, &av.autn), 0x6982); // PIN1 first
    sw(&mut c, &format!("0020000108{PIN1}"), 0x9000);
    sw(&mut c, &auth_apdu(&rand, &av.autn), 0x6985); // no ADF active
    select_usim(&mut c);
    let (_, s) = tx(&mut c, &auth_apdu(&rand, &av.autn));
    assert_eq!(s, 0x6135, "DB 08 RES 10 CK 10 IK 08 Kc = 53 bytes");
    let d = sw(&mut c, "00C0000035", 0x9000);
    assert_eq!(&d[..2], &[0xDB, 0x08]);
    assert_eq!(&d[2..10], &av.xres);
    assert_eq!(&d[11..27], &av.ck);
    assert_eq!(&d[28..44], &av.ik);
    // Replayed: synchronisation failure with an AUTS the network can resolve.
    let d = sw(&mut c, &format!("{}00", auth_apdu(&rand, &av.autn)), 0x9000);
    assert_eq!(&d[..2], &[0xDC, 0x0E]);
    let auts = <[u8; 14]>::try_from(&d[2..]).unwrap();
    assert_eq!(c.subscriber().unwrap().milenage().process_auts(&rand, &auts), Ok(Sqn::new(0x20).unwrap()));
    // A flipped MAC bit: 9862.
    let mut bad = av.autn;
    bad[10] ^= 0x40;
    sw(&mut c, &auth_apdu(&rand, &bad), 0x9862);
    // Bad data and parameters.
    sw(&mut c, "0088008110 10000000000000000000000000000000", 0x6A80);
    sw(&mut c, &auth_apdu(&rand, &av.autn).replacen("00880081", "00880181", 1), 0x6A86);
    sw(&mut c, &auth_apdu(&rand, &av.autn).replacen("00880081", "00880084", 1), 0x9864);
    // GSM context and RUN GSM ALGORITHM give the same SRES/Kc.
    let g = sw(&mut c, &format!("008800801110{}00", hex::encode(rand)), 0x9000);
    assert_eq!((g[0], g[5]), (0x04, 0x08));
    let (_, s) = tx(&mut c, &format!("A088000010{}", hex::encode(rand)));
    assert_eq!(s, 0x9F0C);
    let r = sw(&mut c, "A0C000000C", 0x9000);
    assert_eq!(&r[..4], &g[1..5]);
    assert_eq!(&r[4..], &g[6..]);
    sw(&mut c, "A08800000F00112233445566778899AABBCCDDEE", 0x6700);
}

#[test]
fn proactive_commands_need_a_terminal_profile() {
    let mut c = card();
    sw(&mut c, "8012000000", 0x6985); // nothing to fetch
    sw(&mut c, "801400000C810301010482028281830100", 0x6985); // nothing in progress
    c.proactive.push_refresh(m2msim_codec::cat::RefreshMode::UiccReset).unwrap();
    // Without a TERMINAL PROFILE the card does not announce it.
    sw(&mut c, "00A4000C023F00", 0x9000);
    sw(&mut c, "8010000000", 0x6700);
    sw(&mut c, "80100000 03 FFFFFF", 0x910B);
    sw(&mut c, "00A4000C023F00", 0x910B);
    sw(&mut c, "8012000005", 0x6C0B);
    let cmd = sw(&mut c, "801200000B", 0x9000);
    assert_eq!(hex::encode_upper(cmd), "D009810301010482028182");
    sw(&mut c, "00A4000C023F00", 0x9000); // in progress: no announcement
    sw(&mut c, "801400000C810301020482028281830100", 0x6A80); // wrong command number
    sw(&mut c, "8014000003010203", 0x6A80); // not a terminal response
    sw(&mut c, "801400000C810301010482028281830100", 0x9000);
    sw(&mut c, "A0120000 00", 0x6F00);
    // A reset drops the queue and the terminal profile.
    c.proactive.push_refresh(m2msim_codec::cat::RefreshMode::NaaInit).unwrap();
    c.reset();
    assert!(c.proactive().is_empty());
    assert!(c.terminal_profile().is_none());
}

#[test]
fn card_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.toml");
    let mut c = card();
    // Change state: a wrong PIN attempt, ADM verified and EF_IMSI updated, an AUTHENTICATE (SQN).
    sw(&mut c, "002000010830303030FFFFFFFF", 0x63C2);
    sw(&mut c, &format!("0020000A08{ADM1}"), 0x9000);
    sw(&mut c, &format!("0020000108{PIN1}"), 0x9000);
    select_usim(&mut c);
    sw(&mut c, "00D6870009080910101032547688", 0x9000);
    let rand = [9u8; 16];
    let av = c.subscriber().unwrap().milenage().generate_av(&rand, Sqn::new(0x41).unwrap(), [0, 0]);
    sw(&mut c, &format!("{}00", auth_apdu(&rand, &av.autn)), 0x9000);
    sw(&mut c, "002000010830303030FFFFFFFF", 0x63C2);
    c.save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!dir.path().join("card.toml.tmp").exists());
    let mut again = Uicc::load(&path).unwrap();
    assert_eq!(again.to_profile(), c.to_profile());
    assert_eq!(again.pins().pin1.left, 2);
    assert_eq!(again.subscriber().unwrap().sqn(), c.subscriber().unwrap().sqn());
    // The replayed AUTN is still refused after the reload.
    sw(&mut again, &format!("0020000108{PIN1}"), 0x9000);
    select_usim(&mut again);
    let d = sw(&mut again, &format!("{}00", auth_apdu(&rand, &av.autn)), 0x9000);
    assert_eq!(d[0], 0xDC);
    let imsi = sw(&mut again, "00B0870009", 0x9000);
    assert_eq!(EfImsi::decode_exact(&imsi).unwrap().imsi.as_str(), "001010123456788");
    // The text is stable: profile → card → profile → text.
    let text = c.to_profile().to_toml().unwrap();
    let reparsed = CardProfile::from_toml(&text).unwrap();
    assert_eq!(reparsed, c.to_profile());
    assert_eq!(*reparsed.to_toml().unwrap(), *text);
}

#[test]
fn profile_errors_name_the_field() {
    let base = super::profile::EXAMPLE_PROFILE;
    let bad = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        let text = base.replacen(from, to, 1);
        match CardProfile::from_toml(&text).and_then(|p| Uicc::from_profile(&p)) {
            Ok(_) => panic!("accepted: {to}"),
            Err(e) => e.to_string(),
        }
    };
    assert!(bad("label = ", "lable = ").contains("unknown field"));
    assert!(bad("digits = \"1234\"", "digits = \"12\"").contains("pins.pin1"));
    assert!(bad("attempts = 3", "attempts = 16").contains("pins.pin1"));
    assert!(bad("tar = \"b00010\"", "tar = \"b00000\"").contains("TAR used twice"));
    assert!(bad("root = \"df_gsm\"", "root = \"dfgsm\"").contains("root"));
    assert!(bad("target = \"ADF.USIM/6F07\"", "target = \"ADF.USIM/6F99\"").contains("link target missing"));
    assert!(bad("path = \"3F00/2FE2\"", "path = \"3F00/2FE\"").contains("4 hex digits"));
    assert!(bad("path = \"ADF.USIM/6F07\"", "path = \"ADF.XSIM/6F07\"").contains("no such ADF"));
    assert!(bad("sfi = 3\n", "sfi = 7\n").contains("SFI used twice"));
    let e = bad("k = \"465b5ce8b199b49faa5f0a2ee238a6bc\"", "k = \"465b5ce8b199b49faa5f0a2ee238a6\"");
    assert!(e.contains("subscriber.k"));
    let e = bad(
        "kic = { algorithm = \"3des2\", key = \"3001020304050607 08090a0b0c0d0e0f\" }",
        "kic = { algorithm = \"3des2\", key = \"30\" }",
    );
    assert!(e.contains("ota.keyset") && !e.contains("3001"), "{e}");
    // Syntax errors never quote values.
    let e = bad("opc = \"cd63cb71954a9f4e48a5994e37a02baf\"", "opc = 5");
    assert!(!e.contains("cd63"), "{e}");
}

mod robustness {
    use proptest::prelude::*;

    use super::*;
    use crate::terminal::{CardLink, Input, Terminal, TerminalConfig};

    /// C-APDUs built from the instructions the card knows, in both classes, with random parameters.
    fn apdu() -> impl Strategy<Value = Vec<u8>> {
        let cla = prop::sample::select(vec![0x00u8, 0x80, 0xA0, 0x01, 0x84]);
        let ins = prop::sample::select(vec![
            0xA4u8, 0xB0, 0xD6, 0xB2, 0xDC, 0xC0, 0xF2, 0x20, 0x2C, 0x88, 0x10, 0xC2, 0x12, 0x14, 0x70,
        ]);
        (
            cla,
            ins,
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..40),
            prop::option::of(any::<u8>()),
        )
            .prop_map(|(cla, ins, p1, p2, data, le)| {
                let mut v = vec![cla, ins, p1, p2];
                if !data.is_empty() {
                    v.push(data.len() as u8);
                    v.extend_from_slice(&data);
                }
                v.extend(le);
                v
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_bytes_never_panic(inputs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..20)) {
            let mut c = card();
            for i in &inputs {
                prop_assert!(c.handle_apdu(i).len() >= 2);
            }
        }

        #[test]
        fn command_sequences_keep_the_card_consistent(seq in prop::collection::vec(apdu(), 1..60)) {
            let mut c = card();
            // Verified PINs so that writes can happen.
            c.handle_apdu(&h(&format!("0020000108{PIN1}")));
            c.handle_apdu(&h(&format!("0020000A08{ADM1}")));
            for a in &seq {
                let r = c.handle_apdu(a);
                prop_assert!(r.len() >= 2);
            }
            // Whatever happened, the card file reloads to the same card.
            let p = c.to_profile();
            let again = Uicc::from_profile(&CardProfile::from_toml(&p.to_toml().unwrap()).unwrap()).unwrap();
            prop_assert_eq!(again.to_profile(), p);
        }

        #[test]
        fn envelopes_with_arbitrary_tpdus_never_panic(tpdu in prop::collection::vec(any::<u8>(), 0..160), first in any::<bool>()) {
            let mut c = card();
            c.handle_apdu(&h("80100000 03 FFFFFF"));
            let mut t = tpdu.clone();
            if first && t.len() > 4 {
                // Make it look like a DELIVER with a command-packet header more often.
                t[0] = 0x40;
            }
            let dl = m2msim_codec::cat::SmsPpDownload::new(None, t).to_apdu().unwrap();
            let r = c.handle_apdu(&dl.encode());
            prop_assert!(r.len() >= 2);
        }

        #[test]
        fn scripts_never_panic(data in prop::collection::vec(any::<u8>(), 0..120), expanded in any::<bool>()) {
            let mut c = card();
            let format = if expanded { applet::ScriptFormat::Expanded } else { applet::ScriptFormat::Compact };
            let mut rfm = applet::RfmApplet::new(applet::RfmRoot::Adf("USIM".into()), format, Rights::FULL);
            let mut updates = Vec::new();
            let mut ctx = applet::AppletContext {
                fs: &mut c.fs,
                pins: c.pins.summary(),
                keysets: c.security.keysets(),
                keyset_updates: &mut updates,
                provider: c.provider.as_ref(),
                proactive: &mut c.proactive,
                subscriber: c.subscriber.as_mut(),
                keyslots: c.keyslots.as_mut(),
                packet: applet::PacketInfo {
                    tar: Tar([0xB0, 0, 0x11]),
                    spi: m2msim_codec::ota::Spi([0, 0]),
                    kic: m2msim_codec::ota::Kic(0),
                    kid: m2msim_codec::ota::Kid(0),
                    cntr: m2msim_codec::ota::Cntr::default(),
                },
            };
            let out = applet::run_script(&mut rfm, &data, &mut ctx);
            if expanded {
                prop_assert!(m2msim_codec::rfm::ExpandedResponse::decode_exact(&out).is_ok());
            } else {
                prop_assert!(m2msim_codec::rfm::CompactResponse::decode_exact(&out).is_ok());
            }
        }

        #[test]
        fn the_terminal_survives_any_card(answers in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..40)) {
            struct Chaos(Vec<Vec<u8>>, usize);
            impl CardLink for Chaos {
                fn transmit(&mut self, _: &[u8]) -> Vec<u8> {
                    self.1 += 1;
                    self.0.get(self.1 % self.0.len()).cloned().unwrap_or_default()
                }
                fn reset(&mut self) -> Vec<u8> {
                    vec![0x3B, 0x00]
                }
            }
            let mut link = Chaos(answers, 0);
            let mut t = Terminal::new(TerminalConfig { pin1: Some("1234".into()), ..TerminalConfig::default() });
            t.handle_input(&mut link, Input::PowerOn);
            t.handle_input(&mut link, Input::SmsDeliver { tpdu: h("4007917777777777F77FF6520101120000000302700000"), sc_address: None });
            t.handle_input(&mut link, Input::Authenticate { rand: [1; 16], autn: [2; 16] });
            t.handle_timeout(&mut link, 60_000);
            while t.poll_output().is_some() {}
        }
    }
}

#[test]
fn truncated_profiles_never_panic() {
    let text = super::profile::EXAMPLE_PROFILE;
    let mut accepted = 0;
    for (i, _) in text.char_indices() {
        if let Ok(p) = CardProfile::from_toml(&text[..i])
            && Uicc::from_profile(&p).is_ok()
        {
            accepted += 1;
        }
    }
    // Cut inside the pins table, nothing builds; cut between files, a smaller card does.
    assert!(accepted > 0 && accepted < text.len());
}

/// The profile's keysets for a sender: the example card's KVN 1 and KVN 2 (AES, by its KIc nibble); a
/// keyset the key file format refuses is an error. (`tests/peer_fuzz.rs` secures packets with them.)
#[test]
fn profile_keysets_are_the_cards() {
    let p = CardProfile::example().unwrap();
    let keys = p.keysets(&crate::RustCryptoProvider).unwrap();
    let kvns: Vec<u8> = keys.iter().map(|k| k.kvn().get()).collect();
    assert_eq!(kvns, [1, 2]);
    assert_eq!(keys.get(crate::keys::Kvn::new(2).unwrap()).unwrap().kic_byte() & 0x0F, 0x02);
    let mut bad = p.clone();
    bad.ota.keyset[0].insert("kvn".into(), toml::Value::Integer(99));
    assert!(bad.keysets(&crate::RustCryptoProvider).is_err());
}
