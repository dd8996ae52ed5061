//! Named one-byte codes of the card application toolkit (TS 102 223 §8, §9, TS 31.111, TS 101 220 §7.2).

use crate::apdu::code_enum;

code_enum! {
    /// Type of command, byte 2 of command details (TS 102 223 §9.4; TS 31.111 for the 3GPP ones).
    pub enum CommandType {
        Refresh = 0x01 => "REFRESH",
        MoreTime = 0x02 => "MORE TIME",
        PollInterval = 0x03 => "POLL INTERVAL",
        PollingOff = 0x04 => "POLLING OFF",
        SetUpEventList = 0x05 => "SET UP EVENT LIST",
        SetUpCall = 0x10 => "SET UP CALL",
        SendSs = 0x11 => "SEND SS",
        SendUssd = 0x12 => "SEND USSD",
        SendShortMessage = 0x13 => "SEND SHORT MESSAGE",
        SendDtmf = 0x14 => "SEND DTMF",
        LaunchBrowser = 0x15 => "LAUNCH BROWSER",
        GeographicalLocationRequest = 0x16 => "GEOGRAPHICAL LOCATION REQUEST",
        PlayTone = 0x20 => "PLAY TONE",
        DisplayText = 0x21 => "DISPLAY TEXT",
        GetInkey = 0x22 => "GET INKEY",
        GetInput = 0x23 => "GET INPUT",
        SelectItem = 0x24 => "SELECT ITEM",
        SetUpMenu = 0x25 => "SET UP MENU",
        ProvideLocalInformation = 0x26 => "PROVIDE LOCAL INFORMATION",
        TimerManagement = 0x27 => "TIMER MANAGEMENT",
        SetUpIdleModeText = 0x28 => "SET UP IDLE MODE TEXT",
        PerformCardApdu = 0x30 => "PERFORM CARD APDU",
        PowerOnCard = 0x31 => "POWER ON CARD",
        PowerOffCard = 0x32 => "POWER OFF CARD",
        GetReaderStatus = 0x33 => "GET READER STATUS",
        RunAtCommand = 0x34 => "RUN AT COMMAND",
        LanguageNotification = 0x35 => "LANGUAGE NOTIFICATION",
        OpenChannel = 0x40 => "OPEN CHANNEL",
        CloseChannel = 0x41 => "CLOSE CHANNEL",
        ReceiveData = 0x42 => "RECEIVE DATA",
        SendData = 0x43 => "SEND DATA",
        GetChannelStatus = 0x44 => "GET CHANNEL STATUS",
        ServiceSearch = 0x45 => "SERVICE SEARCH",
        GetServiceInformation = 0x46 => "GET SERVICE INFORMATION",
        DeclareService = 0x47 => "DECLARE SERVICE",
        SetFrames = 0x50 => "SET FRAMES",
        GetFramesStatus = 0x51 => "GET FRAMES STATUS",
        RetrieveMultimediaMessage = 0x60 => "RETRIEVE MULTIMEDIA MESSAGE",
        SubmitMultimediaMessage = 0x61 => "SUBMIT MULTIMEDIA MESSAGE",
        DisplayMultimediaMessage = 0x62 => "DISPLAY MULTIMEDIA MESSAGE",
        Activate = 0x70 => "ACTIVATE",
        ContactlessStateChanged = 0x71 => "CONTACTLESS STATE CHANGED",
        CommandContainer = 0x72 => "COMMAND CONTAINER",
        EncapsulatedSessionControl = 0x73 => "ENCAPSULATED SESSION CONTROL",
        EndOfProactiveSession = 0x81 => "end of the proactive UICC session",
    }
}

code_enum! {
    /// Device identity (TS 102 223 §8.7).
    pub enum DeviceIdentity {
        Keypad = 0x01 => "keypad",
        Display = 0x02 => "display",
        Earpiece = 0x03 => "earpiece",
        CardReader0 = 0x10 => "additional card reader 0",
        CardReader1 = 0x11 => "additional card reader 1",
        CardReader2 = 0x12 => "additional card reader 2",
        CardReader3 = 0x13 => "additional card reader 3",
        CardReader4 = 0x14 => "additional card reader 4",
        CardReader5 = 0x15 => "additional card reader 5",
        CardReader6 = 0x16 => "additional card reader 6",
        CardReader7 = 0x17 => "additional card reader 7",
        Channel1 = 0x21 => "channel 1",
        Channel2 = 0x22 => "channel 2",
        Channel3 = 0x23 => "channel 3",
        Channel4 = 0x24 => "channel 4",
        Channel5 = 0x25 => "channel 5",
        Channel6 = 0x26 => "channel 6",
        Channel7 = 0x27 => "channel 7",
        Uicc = 0x81 => "UICC",
        Terminal = 0x82 => "terminal",
        Network = 0x83 => "network",
    }
}

code_enum! {
    /// General result, byte 1 of the result object (TS 102 223 §8.12; the values TS 102 223 reserves for
    /// 3GPP carry their TS 31.111 names).
    pub enum GeneralResult {
        PerformedSuccessfully = 0x00 => "command performed successfully",
        PartialComprehension = 0x01 => "command performed with partial comprehension",
        MissingInformation = 0x02 => "command performed, with missing information",
        RefreshAdditionalEfsRead = 0x03 => "REFRESH performed with additional EFs read",
        IconNotDisplayed = 0x04 => "command performed successfully, but requested icon could not be displayed",
        ModifiedByCallControl = 0x05 => "command performed, but modified by call control by NAA",
        LimitedService = 0x06 => "command performed successfully, limited service",
        PerformedWithModification = 0x07 => "command performed with modification",
        RefreshNaaNotActive = 0x08 => "REFRESH performed but indicated NAA was not active",
        ToneNotPlayed = 0x09 => "command performed successfully, tone not played",
        TerminatedByUser = 0x10 => "proactive UICC session terminated by the user",
        BackwardMove = 0x11 => "backward move in the proactive UICC session requested by the user",
        NoResponseFromUser = 0x12 => "no response from user",
        HelpRequired = 0x13 => "help information required by the user",
        UssdOrSsTerminatedByUser = 0x14 => "USSD or SS transaction terminated by the user",
        TerminalUnableNow = 0x20 => "terminal currently unable to process command",
        NetworkUnableNow = 0x21 => "network currently unable to process the command",
        UserDidNotAccept = 0x22 => "user did not accept the proactive command",
        UserClearedDownCall = 0x23 => "user cleared down call before connection or network release",
        ContradictionWithTimerState = 0x24 => "action in contradiction with the current timer state",
        CallControlTemporaryProblem = 0x25 => "interaction with call control by NAA, temporary problem",
        LaunchBrowserError = 0x26 => "launch browser generic error code",
        MmsTemporaryProblem = 0x27 => "MMS temporary problem",
        BeyondTerminalCapabilities = 0x30 => "command beyond terminal's capabilities",
        TypeNotUnderstood = 0x31 => "command type not understood by terminal",
        DataNotUnderstood = 0x32 => "command data not understood by terminal",
        NumberNotKnown = 0x33 => "command number not known by terminal",
        SsReturnError = 0x34 => "SS Return Error",
        SmsRpError = 0x35 => "SMS RP-ERROR",
        RequiredValuesMissing = 0x36 => "error, required values are missing",
        UssdReturnError = 0x37 => "USSD Return Error",
        MultipleCardError = 0x38 => "MultipleCard commands error",
        CallControlPermanentProblem = 0x39 => "interaction with call control by NAA, permanent problem",
        BearerIndependentProtocolError = 0x3A => "Bearer Independent Protocol error",
        AccessTechnologyUnable = 0x3B => "access technology unable to process command",
        FramesError = 0x3C => "frames error",
        MmsError = 0x3D => "MMS error",
    }
}

impl GeneralResult {
    /// True for the "command performed" results `0x`: the command was carried out (TS 102 223 §8.12).
    #[must_use]
    pub const fn is_performed(self) -> bool {
        self.to_u8() < 0x10
    }

    /// True for the temporary problems `2x`: the UICC may retry later.
    #[must_use]
    pub const fn is_temporary_problem(self) -> bool {
        self.to_u8() & 0xF0 == 0x20
    }

    /// True for the permanent problems `3x`.
    #[must_use]
    pub const fn is_permanent_problem(self) -> bool {
        self.to_u8() & 0xF0 == 0x30
    }
}

code_enum! {
    /// REFRESH command qualifier (TS 102 223 §8.6; `07`–`08` are 3GPP values named in TS 31.111).
    ///
    /// Decision: these names are taken from the m2m.md §4.4 digest, marked there as recalled rather than
    /// read; `04` UICC reset and `01` file change notification are the ones this project relies on.
    pub enum RefreshMode {
        NaaInitFullFileChange = 0x00 => "NAA initialization and full file change notification",
        FileChangeNotification = 0x01 => "file change notification",
        NaaInitFileChange = 0x02 => "NAA initialization and file change notification",
        NaaInit = 0x03 => "NAA initialization",
        UiccReset = 0x04 => "UICC reset",
        NaaApplicationReset = 0x05 => "NAA application reset",
        NaaSessionReset = 0x06 => "NAA session reset",
        SteeringOfRoaming = 0x07 => "steering of roaming",
        SteeringOfRoamingIwlan = 0x08 => "steering of roaming for I-WLAN",
        EuiccProfileStateChange = 0x09 => "eUICC profile state change",
        ApplicationUpdate = 0x0A => "application update",
    }
}

code_enum! {
    /// Time unit of a duration (TS 102 223 §8.8).
    pub enum TimeUnit {
        Minutes = 0x00 => "minutes",
        Seconds = 0x01 => "seconds",
        TenthsOfSeconds = 0x02 => "tenths of seconds",
    }
}

code_enum! {
    /// Type of number, bits 7–5 of the TON/NPI byte of an address (TS 102 223 §8.1, TS 24.008 §10.5.4.7).
    pub enum TypeOfNumber {
        Unknown = 0x00 => "unknown",
        International = 0x01 => "international number",
        National = 0x02 => "national number",
        NetworkSpecific = 0x03 => "network specific number",
        DedicatedAccess = 0x04 => "dedicated access, short code",
    }
}

code_enum! {
    /// Numbering plan identification, bits 4–1 of the TON/NPI byte (TS 102 223 §8.1, TS 24.008 §10.5.4.7).
    pub enum NumberingPlan {
        Unknown = 0x00 => "unknown",
        IsdnTelephony = 0x01 => "ISDN/telephony numbering plan (E.164)",
        Data = 0x03 => "data numbering plan (X.121)",
        Telex = 0x04 => "telex numbering plan (F.69)",
        National = 0x08 => "national numbering plan",
        Private = 0x09 => "private numbering plan",
        ReservedForExtension = 0x0F => "reserved for extension",
    }
}

code_enum! {
    /// The BER tag of an ENVELOPE command's data object (TS 101 220 Table 7.17, TS 102 223 §7).
    pub enum EnvelopeTag {
        SmsPpDownload = 0xD1 => "SMS-PP download",
        CellBroadcastDownload = 0xD2 => "cell broadcast download",
        MenuSelection = 0xD3 => "menu selection",
        CallControl = 0xD4 => "call control",
        MoShortMessageControl = 0xD5 => "MO short message control",
        EventDownload = 0xD6 => "event download",
        TimerExpiration = 0xD7 => "timer expiration",
        IntraUicc = 0xD8 => "reserved for intra-UICC communication",
        UssdDownload = 0xD9 => "USSD download",
        MmsTransferStatus = 0xDA => "MMS transfer status",
        MmsNotificationDownload = 0xDB => "MMS notification download",
    }
}
